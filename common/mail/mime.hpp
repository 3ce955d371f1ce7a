#pragma once
// Reading a message back: headers (RFC 2047 words decoded), the MIME tree, decoded bodies.
// The chapter prints received mail with it; tests check structure and contents with it.

#include <string>
#include <utility>
#include <vector>

namespace common::mail {

struct MimePart {
    std::vector<std::pair<std::string, std::string>> headers{};  ///< in order, values decoded
    std::string content_type{};       ///< lower case, no parameters: "text/plain"
    std::string charset{};            ///< the charset parameter, if any
    std::string transfer_encoding{};  ///< "7bit", "quoted-printable", "base64", ...
    std::string filename{};           ///< from Content-Disposition, if any
    std::string body{};               ///< leaves: the content with the transfer encoding undone
    std::vector<MimePart> parts{};    ///< multiparts: the children, in order

    /// The first header of that name (case-insensitive), or "".
    std::string header(const std::string& name) const;
    bool has_header(const std::string& name) const;
};

/// Parses raw message bytes (as sent after DATA or stored in an .eml). Throws
/// std::invalid_argument for a multipart without a boundary or a broken structure.
MimePart parse_mime(const std::string& raw);

/// One line per part, indented by depth, e.g.
///     multipart/mixed
///       multipart/alternative
///         text/plain; charset=utf-8; 7bit: "text body"
std::string describe_tree(const MimePart& root);

}  // namespace common::mail
