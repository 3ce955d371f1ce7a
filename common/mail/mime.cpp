#include "common/mail/mime.hpp"

#include <Poco/Base64Decoder.h>
#include <Poco/Exception.h>
#include <Poco/Net/MediaType.h>
#include <Poco/Net/MessageHeader.h>
#include <Poco/Net/MultipartReader.h>
#include <Poco/Net/NameValueCollection.h>
#include <Poco/Net/QuotedPrintableDecoder.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <sstream>
#include <stdexcept>

namespace common::mail {

namespace {

std::string parameter(const Poco::Net::MediaType& type, const std::string& name) {
    return type.hasParameter(name) ? type.getParameter(name) : std::string();
}

// RFC 2231: filename*=utf-8''%E6%8A%A5.csv, or split as filename*0*=utf-8''...;
// filename*1*=...  The pieces are joined, the charset prefix dropped and the %XX escapes
// decoded (Poco::URI::decode); we only write UTF-8, so the bytes are kept as they are.
std::string rfc2231_filename(const Poco::Net::NameValueCollection& params) {
    std::string encoded = params.get("filename*", "");
    if (encoded.empty()) {
        for (int k = 0;; ++k) {
            const std::string n = "filename*" + std::to_string(k);
            const std::string piece = params.get(n + "*", params.get(n, ""));
            if (piece.empty()) break;
            encoded += piece;
        }
    }
    if (encoded.empty()) return {};
    const auto quote = encoded.find("''");
    if (quote != std::string::npos) encoded = encoded.substr(quote + 2);
    std::string decoded;
    Poco::URI::decode(encoded, decoded);
    return decoded;
}

MimePart parse_part(std::istream& in, int depth) {
    if (depth > 20) throw std::invalid_argument("MIME parts nested more than 20 deep");
    MimePart part;
    Poco::Net::MessageHeader header;  // decodes RFC 2047 encoded-words while reading
    header.read(in);
    // MessageHeader::read stops before the blank line that ends the header.
    if (in.peek() == '\r') in.get();
    if (in.peek() == '\n') in.get();
    for (const auto& [name, value] : header) part.headers.emplace_back(name, value);

    const Poco::Net::MediaType type(header.get("Content-Type", "text/plain"));
    part.content_type = Poco::toLower(type.getType() + "/" + type.getSubType());
    part.charset = Poco::toLower(parameter(type, "charset"));
    part.transfer_encoding =
        Poco::toLower(Poco::trim(header.get("Content-Transfer-Encoding", "7bit")));
    if (header.has("Content-Disposition")) {
        std::string disposition;
        Poco::Net::NameValueCollection params;
        Poco::Net::MessageHeader::splitParameters(header.get("Content-Disposition"), disposition,
                                                  params);
        part.filename = params.get("filename", "");
        if (part.filename.empty()) part.filename = rfc2231_filename(params);
    }

    if (type.matches("multipart")) {
        const std::string boundary = parameter(type, "boundary");
        if (boundary.empty())
            throw std::invalid_argument(part.content_type + " without a boundary parameter");
        Poco::Net::MultipartReader reader(in, boundary);
        try {
            while (reader.hasNextPart()) {
                Poco::Net::MessageHeader child_header;
                reader.nextPart(child_header);
                std::ostringstream child;  // re-assemble header + content, then parse alike
                child_header.write(child);
                child << "\r\n";
                Poco::StreamCopier::copyStream(reader.stream(), child);
                std::istringstream child_in(child.str());
                part.parts.push_back(parse_part(child_in, depth + 1));
            }
        } catch (const Poco::Exception& e) {
            throw std::invalid_argument("broken " + part.content_type + ": " + e.displayText());
        }
        return part;
    }

    std::ostringstream body;
    if (part.transfer_encoding == "base64") {
        Poco::Base64Decoder decoder(in);
        Poco::StreamCopier::copyStream(decoder, body);
    } else if (part.transfer_encoding == "quoted-printable") {
        Poco::Net::QuotedPrintableDecoder decoder(in);
        Poco::StreamCopier::copyStream(decoder, body);
    } else {
        Poco::StreamCopier::copyStream(in, body);
    }
    part.body = body.str();
    return part;
}

std::string quoted(const std::string& text) {
    std::string out = "\"";
    std::size_t n = 0;
    for (char c : text) {
        if (++n > 60) {
            out += "...";
            break;
        }
        if (c == '\r')
            out += "\\r";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"')
            out += "\\\"";
        else
            out += c;
    }
    return out + "\"";
}

void describe(const MimePart& part, int depth, std::string& out) {
    out.append(static_cast<std::size_t>(depth) * 2, ' ');
    out += part.content_type;
    if (part.parts.empty()) {
        if (!part.charset.empty()) out += "; charset=" + part.charset;
        if (!part.filename.empty()) out += "; filename=" + part.filename;
        out += "; " + part.transfer_encoding + ": " + quoted(part.body);
    }
    out += '\n';
    for (const auto& child : part.parts) describe(child, depth + 1, out);
}

}  // namespace

std::string MimePart::header(const std::string& name) const {
    for (const auto& [n, v] : headers)
        if (Poco::icompare(n, name) == 0) return v;
    return {};
}

bool MimePart::has_header(const std::string& name) const {
    for (const auto& [n, v] : headers)
        if (Poco::icompare(n, name) == 0) return true;
    return false;
}

// RFC 2047 §6.2: white space (and folding) between two adjacent encoded-words is not part
// of the text, but Poco's decodeWord keeps it, so "=?utf-8?b?5L2g?=\r\n =?utf-8?b?5aW9?="
// would come back with a space inside the word. Join such words before Poco reads them.
std::string join_encoded_words(const std::string& raw) {
    auto header_end = raw.find("\r\n\r\n");
    if (header_end == std::string::npos) header_end = raw.size();
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        out += raw[i];
        if (i < header_end && raw[i] == '=' && i > 0 && raw[i - 1] == '?') {
            std::size_t j = i + 1;
            while (j < header_end &&
                   (raw[j] == ' ' || raw[j] == '\t' || raw[j] == '\r' || raw[j] == '\n'))
                ++j;
            if (j > i + 1 && j + 1 < raw.size() && raw[j] == '=' && raw[j + 1] == '?') i = j - 1;
        }
    }
    return out;
}

MimePart parse_mime(const std::string& raw) {
    std::istringstream in(join_encoded_words(raw));
    try {
        return parse_part(in, 0);
    } catch (const Poco::Exception& e) {
        throw std::invalid_argument("cannot parse the message: " + e.displayText());
    }
}

std::string describe_tree(const MimePart& root) {
    std::string out;
    describe(root, 0, out);
    return out;
}

}  // namespace common::mail
