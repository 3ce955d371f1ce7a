#pragma once
/// common::db — a thin ORM on Poco::Data in the image of Flask-SQLAlchemy. Include this one.

#include "common/db/database.hpp"
#include "common/db/errors.hpp"
#include "common/db/model.hpp"
#include "common/db/session.hpp"
