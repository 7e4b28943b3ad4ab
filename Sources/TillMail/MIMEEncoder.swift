public import struct Foundation.Data
public import struct Foundation.Date

/// Turns an ``EmailMessage`` into RFC 5322 bytes, ready for SMTP's DATA.
///
/// - Lines end in CRLF; header lines are folded at 78 characters where a space allows, and
///   never exceed 998; body lines never exceed 76.
/// - Non-ASCII header text becomes RFC 2047 `B` encoded-words, non-ASCII filenames RFC 2231
///   parameters; text and HTML are UTF-8 quoted-printable, attachments base64.
/// - With an HTML body the text and HTML are a `multipart/alternative`; with attachments that
///   (or the lone text part) sits first in a `multipart/mixed`.
/// - Boundaries start with `=_`, which neither quoted-printable (`=` is always followed by hex
///   digits or a line end) nor base64 (`=` only pads the end) can produce, so no content can
///   end a part early. They are derived from the Message-ID, so the output is a pure function
///   of the message, the ID and the date.
public enum MIMEEncoder {
    public static func encode(_ message: EmailMessage, messageID: String, date: Date) throws(MailError) -> Data {
        let id = try normalizedMessageID(messageID)
        var writer = MIMEWriter()
        writer.header("Date", [rfc5322Date(date)])
        writer.header("From", addressUnits([message.from]))
        if let replyTo = message.replyTo { writer.header("Reply-To", addressUnits([replyTo])) }
        writer.header("To", addressUnits(message.to))
        writer.header("Message-ID", ["<\(id)>"])
        writer.header("Subject", try subjectUnits(message.subject))
        writer.header("MIME-Version", ["1.0"])
        for header in message.headers {
            writer.header(header.name, header.value.split(separator: " ", omittingEmptySubsequences: false).map(String.init))
        }

        let digest = fnv1a64(id)
        let mixed = "=_Till_m_" + digest
        let alternative = "=_Till_a_" + digest
        if message.attachments.isEmpty {
            writeBody(message, alternativeBoundary: alternative, into: &writer)
        } else {
            writer.header("Content-Type", ["multipart/mixed;", "boundary=\"\(mixed)\""])
            writer.line("")
            writer.line("This is a multi-part message in MIME format.")
            writer.raw("--\(mixed)\r\n")
            writeBody(message, alternativeBoundary: alternative, into: &writer)
            for attachment in message.attachments {
                writer.raw("\r\n--\(mixed)\r\n")
                writer.header("Content-Type", [attachment.contentType + ";"] + parameterUnits("name", attachment.filename))
                writer.header("Content-Disposition", ["attachment;"] + parameterUnits("filename", attachment.filename))
                writer.header("Content-Transfer-Encoding", ["base64"])
                writer.line("")
                writer.raw(base64Lines(attachment.data))
            }
            writer.raw("\r\n--\(mixed)--")
        }
        writer.raw("\r\n")
        guard writer.bytes.count <= message.maxSize else { throw .tooLarge(writer.bytes.count, limit: message.maxSize) }
        return Data(writer.bytes)
    }

    /// The text part alone, or text and HTML as alternatives; the part's headers, its blank
    /// line and its content, without a final line end (the next delimiter brings it).
    private static func writeBody(_ message: EmailMessage, alternativeBoundary boundary: String, into writer: inout MIMEWriter) {
        guard let html = message.htmlBody else {
            writeTextPart("text/plain", message.textBody, into: &writer)
            return
        }
        writer.header("Content-Type", ["multipart/alternative;", "boundary=\"\(boundary)\""])
        writer.line("")
        writer.raw("--\(boundary)\r\n")
        writeTextPart("text/plain", message.textBody, into: &writer)
        writer.raw("\r\n--\(boundary)\r\n")
        writeTextPart("text/html", html, into: &writer)
        writer.raw("\r\n--\(boundary)--")
    }

    private static func writeTextPart(_ type: String, _ text: String, into writer: inout MIMEWriter) {
        writer.header("Content-Type", [type + ";", "charset=utf-8"])
        writer.header("Content-Transfer-Encoding", ["quoted-printable"])
        writer.line("")
        writer.raw(quotedPrintable(text))
    }

    // MARK: Headers

    /// `local@domain` without angle brackets, checked to be a dot-atom on each side.
    static func normalizedMessageID(_ messageID: String) throws(MailError) -> String {
        if hasLineBreakOrNUL(messageID) { throw .headerInjection("the Message-ID") }
        var id = Substring(messageID)
        if id.hasPrefix("<"), id.hasSuffix(">") { id = id.dropFirst().dropLast() }
        let parts = id.split(separator: "@", omittingEmptySubsequences: false)
        guard id.utf8.count <= 250, parts.count == 2,
              parts.allSatisfy({ part in
                  !part.isEmpty && !part.hasPrefix(".") && !part.hasSuffix(".") && !part.contains("..")
                      && part.utf8.allSatisfy { EmailAddress.isAtext($0) || $0 == UInt8(ascii: ".") }
              })
        else {
            throw .invalidMessage("the Message-ID must look like <unique@domain> (dot-atoms, at most 250 bytes)")
        }
        return String(id)
    }

    static func subjectUnits(_ subject: String) throws(MailError) -> [String] {
        let units: [String]
        if subject.utf8.allSatisfy({ $0 < 0x80 }), !subject.contains("=?") {
            units = subject.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        } else {
            units = encodedWords(subject)
        }
        let length = units.reduce(0) { $0 + $1.utf8.count } + max(0, units.count - 1)
        guard length <= EmailMessage.maxSubjectBytes else {
            throw .invalidMessage("the subject is \(length) bytes after encoding, over \(EmailMessage.maxSubjectBytes)")
        }
        return units
    }

    /// Each mailbox as its display-name units then `<addr>`, separated by commas.
    static func addressUnits(_ addresses: [EmailAddress]) -> [String] {
        var units: [String] = []
        for (index, address) in addresses.enumerated() {
            var mailbox = address.displayName.map(phraseUnits) ?? []
            mailbox.append(address.displayName == nil ? address.addrSpec : "<\(address.addrSpec)>")
            if index < addresses.count - 1 { mailbox[mailbox.count - 1] += "," }
            units += mailbox
        }
        return units
    }

    /// A display name as atoms, one quoted-string, or encoded-words.
    static func phraseUnits(_ name: String) -> [String] {
        let bytes = Array(name.utf8)
        if bytes.contains(where: { $0 >= 0x80 }) { return encodedWords(name) }
        if !name.contains("=?"), bytes.allSatisfy({ EmailAddress.isAtext($0) || $0 == UInt8(ascii: " ") }) {
            return name.split(separator: " ").map(String.init)
        }
        var quoted = "\""
        for character in name {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return [quoted + "\""]
    }

    /// RFC 2047 `B` encoded-words of at most 75 characters each, split between Unicode
    /// scalars so every word decodes on its own.
    static func encodedWords(_ text: String) -> [String] {
        // "=?UTF-8?B?" + "?=" is 12 characters; 45 bytes make 60 base64 characters.
        let maxBytes = 45
        var words: [String] = []
        var chunk: [UInt8] = []
        for scalar in text.unicodeScalars {
            let encoded = Array(String(scalar).utf8)
            if chunk.count + encoded.count > maxBytes {
                words.append("=?UTF-8?B?" + base64(chunk) + "?=")
                chunk.removeAll(keepingCapacity: true)
            }
            chunk += encoded
        }
        if !chunk.isEmpty || words.isEmpty { words.append("=?UTF-8?B?" + base64(chunk) + "?=") }
        return words
    }

    /// `name="value"` for ASCII, otherwise RFC 2231 `name*=UTF-8''…`, split into numbered
    /// continuations (`name*0*=`, `name*1*=`) when long so header lines stay short.
    static func parameterUnits(_ name: String, _ value: String) -> [String] {
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            var quoted = "\""
            for character in value {
                if character == "\"" || character == "\\" { quoted.append("\\") }
                quoted.append(character)
            }
            return ["\(name)=\(quoted)\""]
        }
        let attributeChars = Set("!#$&+-.^_`|~".utf8)
        var pieces: [String] = []
        for byte in value.utf8 {
            let isPlain = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || attributeChars.contains(byte)
            pieces.append(isPlain ? String(UnicodeScalar(byte)) : "%" + hex(byte))
        }
        // 50 keeps ` filename*0*=UTF-8''…;` within 78 characters.
        let segmentLength = 50
        var segments: [String] = [""]
        for piece in pieces {
            if segments[segments.count - 1].utf8.count + piece.utf8.count > segmentLength { segments.append("") }
            segments[segments.count - 1] += piece
        }
        if segments.count == 1 { return ["\(name)*=UTF-8''\(segments[0])"] }
        return segments.enumerated().map { index, segment in
            let unit = index == 0 ? "\(name)*0*=UTF-8''\(segment)" : "\(name)*\(index)*=\(segment)"
            return index < segments.count - 1 ? unit + ";" : unit
        }
    }

    /// `Thu, 03 Dec 2026 20:42:06 +0000` (the two-digit day most software writes), always in UTC so the output does not depend on the
    /// machine's zone or locale.
    static func rfc5322Date(_ date: Date) -> String {
        let seconds = Int64((date.timeIntervalSince1970).rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday
        let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(weekdays[weekday]), \(two(day)) \(months[Int(month) - 1]) \(year) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }

    // MARK: Bodies

    /// RFC 2045 quoted-printable of the UTF-8 text, every line break made CRLF, lines of at
    /// most 76 characters (soft breaks never split an `=XX`), no final line end.
    static func quotedPrintable(_ text: String) -> [UInt8] {
        var output: [UInt8] = []
        var lines: [[UInt8]] = [[]]
        var previousWasCR = false
        for byte in text.utf8 {
            if byte == 0x0A, previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = byte == 0x0D
            if byte == 0x0D || byte == 0x0A {
                lines.append([])
            } else {
                lines[lines.count - 1].append(byte)
            }
        }
        for (lineIndex, line) in lines.enumerated() {
            if lineIndex > 0 { output += [0x0D, 0x0A] }
            var column = 0
            for (index, byte) in line.enumerated() {
                let isWhitespace = byte == 0x20 || byte == 0x09
                let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || (isWhitespace && index < line.count - 1)
                let piece: [UInt8] = literal ? [byte] : Array(("=" + hex(byte)).utf8)
                // 75 leaves room for the soft break's "=".
                if column + piece.count > 75 {
                    output += Array("=\r\n".utf8)
                    column = 0
                }
                output += piece
                column += piece.count
            }
        }
        return output
    }

    /// Base64 in lines of 76 characters separated by CRLF, no final line end.
    static func base64Lines(_ data: Data) -> [UInt8] {
        let encoded = Array(base64(Array(data)).utf8)
        var output: [UInt8] = []
        output.reserveCapacity(encoded.count + encoded.count / 76 * 2)
        var start = 0
        while start < encoded.count {
            if start > 0 { output += [0x0D, 0x0A] }
            let end = min(start + 76, encoded.count)
            output += encoded[start..<end]
            start = end
        }
        return output
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)],
                       alphabet[Int(value >> 6 & 63)], alphabet[Int(value & 63)]]
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let value = UInt32(bytes[index]) << 16
            output += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], 61, 61]
        } else if rest == 2 {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            output += [alphabet[Int(value >> 18 & 63)], alphabet[Int(value >> 12 & 63)], alphabet[Int(value >> 6 & 63)], 61]
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }

    /// FNV-1a, 64 bits, as 16 hex digits: stable across processes, unlike `Hasher`.
    static func fnv1a64(_ text: String) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Bytes of a message being written, with header folding.
struct MIMEWriter {
    var bytes: [UInt8] = []

    /// `Name: unit unit …`, folded before a unit when the line would pass 78 characters.
    /// Units are never split; the callers keep each one well under 998 bytes.
    mutating func header(_ name: String, _ units: [String]) {
        var line = name + ":"
        for unit in units {
            // Folding before the first unit too: a 75-character encoded-word after
            // "Subject: " would pass 78 otherwise.
            if !unit.isEmpty, line.utf8.count + 1 + unit.utf8.count > 78 {
                line += "\r\n"
                raw(line)
                line = " " + unit
            } else {
                line += " " + unit
            }
        }
        self.line(line)
    }

    mutating func line(_ text: String) {
        raw(text)
        raw("\r\n")
    }

    mutating func raw(_ text: String) { bytes += text.utf8 }
    mutating func raw(_ more: [UInt8]) { bytes += more }
}
