// Fuzz target: X.509 parsing in TillCrypto (`X509Certificate.chain(pem:)` and
// `X509Certificate(der:)`), which reads whatever a PayPal-CERT-URL host serves. Beyond "does
// not crash or leak", it checks that whatever parses round-trips: its DER re-encoding parses
// back to itself, PEM re-serialises to a certificate with the same DER, and the
// accessors (dates, names, CA flag, public key) can be read.
import Foundation
import FuzzSupport
import TillCrypto

private func exercise(_ certificate: X509Certificate) {
    _ = certificate.notBefore
    _ = certificate.notAfter
    _ = certificate.subject
    _ = certificate.issuer
    _ = certificate.isCA
    if let key = try? certificate.publicKey {
        _ = key.isValidSignature([UInt8](repeating: 1, count: 256), for: [1, 2, 3])
    }
}

func fuzzCertificates(_ input: UnsafeRawBufferPointer) {
    let bytes = Array(input)
    if let certificate = try? X509Certificate(der: bytes) {
        // OpenSSL may normalise a lax (BER) outer encoding, so the check is that the
        // re-encoding is stable, not that it equals the input.
        let encoded = certificate.derBytes
        guard let again = try? X509Certificate(der: encoded), again.derBytes == encoded else {
            fuzzFailure("DER re-encoding does not parse back to itself")
        }
        exercise(certificate)
    }
    let text = String(decoding: input, as: UTF8.self)
    if let chain = try? X509Certificate.chain(pem: text) {
        if chain.isEmpty || chain.count > X509Certificate.maximumChainLength {
            fuzzFailure("chain of \(chain.count) certificates accepted")
        }
        for certificate in chain {
            guard let again = try? X509Certificate(pem: certificate.pemRepresentation),
                again.derBytes == certificate.derBytes
            else { fuzzFailure("PEM does not round-trip") }
            exercise(certificate)
        }
    }
}

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzCertificates(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzCertificates) }
}
#endif
