#!/usr/bin/env python3
"""The notes' section-1 models, run by Flask-SQLAlchemy: prints the DDL create_all() gives.

Usage: notes_models.py DIR

Each of the notes' three examples is its own module in the notes (`from test.py import
Role,User`), and two of them define a `users` table, so each gets its own app and SQLite file
in DIR. For each, the output is `== <example>` and then every CREATE statement in the file,
by table name. test_relationships.cpp compares this with chapter 01's create_all().
"""
import os
import sqlite3
import sys
import warnings

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

warnings.simplefilter('ignore')  # SQLAlchemy 1.4's 2.0-deprecation notes are not ours


def app_for(directory, example):
    app = Flask(example)
    app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///' + os.path.join(directory, example + '.db')
    return app, SQLAlchemy(app)


def one_to_one(db):
    # The notes' code, as written (the docstrings left out).
    class Identification(db.Model):
        __tablename__='idents'
        id=db.Column(db.Integer,primary_key=True)
        address=db.Column(db.String(64),unique=True)
        user=db.relationship('User',backref='ident',uselist=False)

    class User(db.Model):
        __tablename__='users'
        id = db.Column(db.Integer,primary_key=True)
        name = db.Column(db.String(64),unique=True)
        ident_id=db.Column(db.Integer,db.ForeignKey('idents.id'))


def one_to_many(db):
    class Role(db.Model):
        __tablename__='roles'
        id = db.Column(db.Integer,primary_key=True)
        name = db.Column(db.String(64),unique=True)
        users = db.relationship('User',backref='role')

    class User(db.Model):
        __tablename__='users'
        id=db.Column(db.Integer,primary_key=True)
        name=db.Column(db.String(64),unique=True)
        role_id = db.Column(db.Integer,db.ForeignKey('roles.id'))


def many_to_many(db):
    relation=db.Table('relations',db.Column('student_id',db.Integer,db.ForeignKey('students.id')),db.Column('class_id',db.Integer,db.ForeignKey('classes.id')))

    class Student(db.Model):
        __tablename__='students'
        id=db.Column(db.Integer,primary_key=True)
        name=db.Column(db.String)
        classes=db.relationship('Class',secondary=relation,backref=db.backref('students',lazy='dynamic'),lazy='dynamic')

    class Class(db.Model):
        __tablename__='classes'
        id=db.Column(db.Integer,primary_key=True)
        name=db.Column(db.String)


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit('usage: notes_models.py DIR (an existing directory for the SQLite files)')
    for example in (one_to_one, one_to_many, many_to_many):
        app, db = app_for(sys.argv[1], example.__name__)
        example(db)
        with app.app_context():
            db.create_all()
            path = db.engine.url.database
        print('==', example.__name__)
        with sqlite3.connect(path) as c:
            for (sql,) in c.execute('SELECT sql FROM sqlite_master WHERE sql IS NOT NULL '
                                    'ORDER BY tbl_name, type DESC, name'):
                print(sql + ';')


if __name__ == '__main__':
    main()
