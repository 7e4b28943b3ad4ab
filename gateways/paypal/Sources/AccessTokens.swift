import Foundation
import TillGateway
import TillHTTP

/// PayPal OAuth2 client-credentials tokens: one cached token, refreshed a little before it
/// expires, and at most one refresh in flight however many calls need a token at once (the
/// others wait for it instead of each asking PayPal).
actor AccessTokens {
    struct Token: Sendable {
        var value: String
        var expiresAt: Date
    }

    private let tokenURL: String
    private let basicCredentials: String
    private let http: HTTPClient
    private let timeouts: (request: Duration, connect: Duration)
    private var current: Token?
    private var refreshing: Task<Result<Token, GatewayFailure>, Never>?

    init(baseURL: String, clientID: String, clientSecret: String, http: HTTPClient, timeouts: (request: Duration, connect: Duration)) {
        tokenURL = baseURL + "/v1/oauth2/token"
        basicCredentials = Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()
        self.http = http
        self.timeouts = timeouts
    }

    /// A usable token: the cached one unless it expires within the refresh margin.
    func token(now: Date) async -> Result<String, GatewayFailure> {
        if let current, now < current.expiresAt { return .success(current.value) }
        return await refresh(now: now).map(\.value)
    }

    /// Forgets `token` after PayPal refused it, unless a newer one replaced it already.
    func invalidate(_ token: String) {
        if current?.value == token { current = nil }
    }

    /// Tokens fetched so far; lets tests see that concurrent callers shared one refresh.
    private(set) var fetches = 0

    private func refresh(now: Date) async -> Result<Token, GatewayFailure> {
        if let refreshing { return await refreshing.value }
        fetches += 1
        let request = HTTPRequest(
            method: .POST, url: tokenURL,
            headers: [
                "Authorization": "Basic \(basicCredentials)", "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            ],
            body: Array("grant_type=client_credentials".utf8))
        let http = self.http
        let timeouts = self.timeouts
        let task = Task { () -> Result<Token, GatewayFailure> in
            await Self.fetch(request, http: http, timeouts: timeouts, now: now)
        }
        refreshing = task
        let result = await task.value
        refreshing = nil
        if case .success(let token) = result { current = token }
        return result
    }

    private static func fetch(
        _ request: HTTPRequest, http: HTTPClient, timeouts: (request: Duration, connect: Duration), now: Date
    ) async -> Result<Token, GatewayFailure> {
        let response: HTTPResponse
        do {
            response = try await http.execute(request, timeout: timeouts.request, connectTimeout: timeouts.connect)
        } catch {
            return .failure(
                GatewayFailure(phase: error.phase, message: "could not get a PayPal access token: \(error.message)"))
        }
        guard response.status == 200 else {
            let body = Wire.decode(Wire.ErrorBody.self, from: response.body)
            return .failure(
                GatewayFailure(
                    httpStatus: response.status, gatewayCode: body?.error ?? body?.name,
                    message: "PayPal refused the access-token request: \(body?.errorDescription ?? body?.message ?? "HTTP \(response.status)")"))
        }
        guard let token = Wire.decode(Wire.Token.self, from: response.body), let value = token.accessToken,
            !value.isEmpty, let lifetime = token.expiresIn, lifetime > 0
        else {
            return .failure(GatewayFailure(httpStatus: 200, message: "PayPal's access-token answer has no access_token/expires_in"))
        }
        // Refresh early: a tenth of the lifetime, at most five minutes, so a token never
        // expires between being handed out and being used.
        let margin = min(300, Double(lifetime) / 10)
        return .success(Token(value: value, expiresAt: now.addingTimeInterval(Double(lifetime) - margin)))
    }
}
