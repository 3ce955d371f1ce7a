#!/usr/bin/python3
"""The Flask peer of the HTTP benchmark: the book's chapter-7 Flasky, in one file.

Same shape as the C++ app it is compared with: configuration classes, extensions created
without an app and bound in the factory `create_app`, a `main` blueprint with the name form
page ('What is your name?'), Role/User models on SQLite, the user's name kept in the session,
and Post/Redirect/Get (the book's chapter-5 view: no flash message when the name changes,
which was chapter 4's). Flask-WTF gives the form and its
CSRF token, Bootstrap-Flask the Bootstrap 4 base template (Debian packages the Bootstrap 4/5
successor of the book's Flask-Bootstrap).

    /usr/bin/python3 bench/peers/flask_app.py --init-db     # create the tables once
    gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench/peers 'flask_app:create_app()'

The database is BENCH_DATABASE_URI (default: sqlite:///<this folder>/data-bench.sqlite).
"""
import os
import sys
from datetime import datetime, timezone

from flask import (Blueprint, Flask, current_app, redirect, render_template,
                   session, url_for)
from flask_bootstrap import Bootstrap4
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from sqlalchemy import event
from sqlalchemy.engine import Engine
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired

basedir = os.path.abspath(os.path.dirname(__file__))


# --- config.py --------------------------------------------------------------------------
class Config:
    SECRET_KEY = os.environ.get('SECRET_KEY') or 'hard to guess string'
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    FLASKY_ADMIN = os.environ.get('FLASKY_ADMIN')

    @staticmethod
    def init_app(app):
        pass


class ProductionConfig(Config):
    SQLALCHEMY_DATABASE_URI = os.environ.get('BENCH_DATABASE_URI') or \
        'sqlite:///' + os.path.join(basedir, 'data-bench.sqlite')


config = {'production': ProductionConfig, 'default': ProductionConfig}


# The C++ app's SQLite connections use WAL with synchronous=NORMAL (common::db does that for
# every file database); give the Flask app the same, so the POST mix compares the frameworks,
# not one fsync per commit against none.
@event.listens_for(Engine, 'connect')
def sqlite_like_common_db(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.close()


# --- app/__init__.py: extensions without an app, bound in the factory ------------------
bootstrap = Bootstrap4()
db = SQLAlchemy()


def create_app(config_name='production'):
    app = Flask(__name__)
    app.config.from_object(config[config_name])
    config[config_name].init_app(app)
    bootstrap.init_app(app)
    db.init_app(app)
    app.register_blueprint(main)
    return app


# --- app/models.py ----------------------------------------------------------------------
class Role(db.Model):
    __tablename__ = 'roles'
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64), unique=True)
    users = db.relationship('User', backref='role', lazy='dynamic')

    def __repr__(self):
        return '<Role %r>' % self.name


class User(db.Model):
    __tablename__ = 'users'
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), unique=True, index=True)
    role_id = db.Column(db.Integer, db.ForeignKey('roles.id'))

    def __repr__(self):
        return '<User %r>' % self.username


# --- app/main/forms.py, views.py, errors.py ---------------------------------------------
class NameForm(FlaskForm):
    name = StringField('What is your name?', validators=[DataRequired()])
    submit = SubmitField('Submit')


main = Blueprint('main', __name__)


@main.route('/', methods=['GET', 'POST'])
def index():
    form = NameForm()
    if form.validate_on_submit():
        user = User.query.filter_by(username=form.name.data).first()
        if user is None:
            user = User(username=form.name.data)
            db.session.add(user)
            db.session.commit()
            session['known'] = False
        else:
            session['known'] = True
        session['name'] = form.name.data
        return redirect(url_for('.index'))
    return render_template('index.html', form=form, name=session.get('name'),
                           known=session.get('known', False),
                           current_time=datetime.now(timezone.utc))


@main.app_errorhandler(404)
def page_not_found(e):
    return render_template('404.html'), 404


def init_db():
    app = create_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add(User(username='known', role=Role(name='User')))
        db.session.commit()
        print('flask_app.py: tables created in', app.config['SQLALCHEMY_DATABASE_URI'])


if __name__ == '__main__':
    if sys.argv[1:] == ['--init-db']:
        init_db()
    else:
        sys.exit('usage: flask_app.py --init-db   (serve it with gunicorn; see the docstring)')
