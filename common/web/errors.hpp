#pragma once
/// \file
/// The errors common::web throws, in one family like common::db's and common::mail's, so a
/// caller can catch the framework's errors (`catch (const common::web::Error&)`) apart from
/// its own:
///
///     Error            the base: a std::runtime_error with a message saying what to fix
///     ├─ UsageError    the framework was called wrongly (a blueprint name with a '.', a setup
///     │                call after the app started serving, a cookie name with a space...)
///     ├─ BuildError    url_for() cannot build a URL (Werkzeug's BuildError)
///     ├─ DataError     a Data value read as the wrong type, or JSON that does not parse
///     ├─ TemplateError a template that does not exist or does not compile
///     ├─ ServerError   the server cannot listen, or the OS refused it something
///     └─ HTTPError     abort(404): ends the request with an error page (http.hpp)

#include <stdexcept>
#include <string>

namespace common::web {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class UsageError : public Error {
public:
    using Error::Error;
};

class BuildError : public Error {
public:
    using Error::Error;
};

class DataError : public Error {
public:
    using Error::Error;
};

class TemplateError : public Error {
public:
    using Error::Error;
};

class ServerError : public Error {
public:
    using Error::Error;
};

}  // namespace common::web
