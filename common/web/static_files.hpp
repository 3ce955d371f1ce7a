#pragma once
/// \file
/// Static files (Flask's send_from_directory): content type from the extension, ETag and
/// Last-Modified with 304 Not Modified (If-None-Match, If-Modified-Since), one byte range
/// (Range, If-Range: 206, or 416 when it cannot be sent), and no way out of the directory
/// (`..` segments, however encoded, are 404).

#include "common/web/request.hpp"
#include "common/web/response.hpp"

#include <string>
#include <string_view>

namespace common::web {

/// The file `filename` (a relative path with '/') under `directory`. HTTPError 404 when the
/// name tries to leave the directory or no regular file is there.
Response send_from_directory(const std::string& directory, std::string_view filename,
                             const Request& request);

/// "text/css; charset=utf-8" for "x.css"; application/octet-stream when unknown.
std::string content_type_for(std::string_view filename);

}  // namespace common::web
