import Foundation
import HTTPTypes
import Hummingbird
import SandboxSupport

extension PayPalAPI {
    /// The PayPal-specific admin API beside the shared one:
    ///
    /// - `POST /_sandbox/disputes` `{"payment": "<capture or order id>", "reason":
    ///   "fraudulent|product_not_received|general", "stage": "inquiry|chargeback"}` opens a
    ///   dispute; `POST /_sandbox/disputes/{id}/win`, `/lose` close it and `/escalate` turns an
    ///   inquiry into a chargeback.
    /// - `GET /_sandbox/3ds/{order id}`: the 3-D Secure challenge page (the `payer-action`
    ///   link); `POST /_sandbox/3ds/{order id}/complete` or `/fail` answers it.
    /// - `GET /_sandbox/ca.pem`: the root certificate webhook signing certificates chain to,
    ///   for a client's trust store in sandbox mode.
    /// - `POST /_sandbox/checkout/{order id}/approve` (or GET, the `approve` link): the buyer
    ///   approves an order created without a payment source, as on PayPal's checkout page.
    func addAdminRoutes(to router: Router<SandboxContext>) {
        let admin = router.group("_sandbox")
        let gateway = self.gateway
        admin.get("ca.pem") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/x-pem-file"
            return Response(
                status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: gateway.signing.rootPEM)))
        }
        admin.post("disputes") { request, context in
            guard let buffer = try? await request.body.collect(upTo: 16 * 1024),
                case .object(let members)? = JSONValue.parse(Array(buffer.readableBytesView)),
                case .string(let payment)? = members["payment"]
            else {
                return SandboxJSON.error(
                    "expected {\"payment\": \"<capture or order id>\", \"reason\": \"fraudulent|product_not_received|general\", \"stage\": \"inquiry|chargeback\"}")
            }
            let reason: DisputeReason
            switch members["reason"] {
            case nil, .string("fraudulent")?: reason = .fraudulent
            case .string("product_not_received")?: reason = .productNotReceived
            case .string("general")?: reason = .general
            default: return SandboxJSON.error("reason must be fraudulent, product_not_received or general")
            }
            let stage: DisputeRecord.Stage
            switch members["stage"] {
            case nil, .string("chargeback")?: stage = .chargeback
            case .string("inquiry")?: stage = .inquiry
            default: return SandboxJSON.error("stage must be inquiry or chargeback")
            }
            do throws(PayPalGateway.DisputeError) {
                let dispute = try gateway.openDispute(payment: payment, reason: reason, stage: stage)
                return PayPalHTTP.response(status: 201, body: dispute.bytes)
            } catch {
                return SandboxJSON.error(error.message, status: HTTPResponse.Status(code: error.status))
            }
        }
        for action in [PayPalGateway.DisputeAction.win, .lose, .escalate] {
            admin.post("disputes/:id/\(action.rawValue)") { _, context in
                let id = context.parameters.get("id") ?? ""
                do throws(PayPalGateway.DisputeError) {
                    return PayPalHTTP.response(status: 200, body: try gateway.act(onDispute: id, action).bytes)
                } catch {
                    return SandboxJSON.error(error.message, status: HTTPResponse.Status(code: error.status))
                }
            }
        }
        admin.get("3ds/:id") { _, context in
            let id = Self.htmlEscaped(context.parameters.get("id") ?? "")
            let page = """
                <!doctype html><html><head><title>3-D Secure (sandbox)</title></head><body>
                <h1>3-D Secure challenge</h1><p>Order \(id)</p>
                <form method="post" action="/_sandbox/3ds/\(id)/complete"><button>Complete authentication</button></form>
                <form method="post" action="/_sandbox/3ds/\(id)/fail"><button>Fail authentication</button></form>
                </body></html>
                """
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: page)))
        }
        for (path, succeeded) in [("complete", true), ("fail", false)] {
            admin.post("3ds/:id/\(path)") { _, context in
                let id = context.parameters.get("id") ?? ""
                guard gateway.completeChallenge(id: id, succeeded: succeeded) else {
                    return SandboxJSON.error("order \(id) is not waiting for a 3-D Secure challenge", status: .notFound)
                }
                return SandboxJSON.response(["order": id, "authenticated": succeeded ? "true" : "false"])
            }
        }
        let approve: @Sendable (Request, SandboxContext) async throws -> Response = { _, context in
            let id = context.parameters.get("id") ?? ""
            guard gateway.approveOrder(id: id) else {
                return SandboxJSON.error("order \(id) does not exist or cannot be approved", status: .notFound)
            }
            return SandboxJSON.response(["order": id, "status": "APPROVED"])
        }
        admin.get("checkout/:id/approve", use: approve)
        admin.post("checkout/:id/approve", use: approve)
    }

    private static func htmlEscaped(_ text: String) -> String {
        text.unicodeScalars.map { scalar in
            switch scalar {
            case "<": "&lt;"
            case ">": "&gt;"
            case "&": "&amp;"
            case "\"": "&quot;"
            case "'": "&#39;"
            default: String(scalar)
            }
        }.joined()
    }
}
