#!/usr/bin/python3
"""The ORM workload of bench/bench_orm.cpp, done by Flask-SQLAlchemy: the Python peer.

Models are the notes' section 1 (Role/User one-to-many with backref `role`, Student/Class
many-to-many through `relations`, lazy='dynamic' on both sides), written the way a Flask
programmer would, without speed tricks. Prints one line per phase: `<phase> <seconds> s`.

    /usr/bin/python3 bench/peers/orm_sqlalchemy.py [N] [--db FILE]
"""
import argparse
import os
import sys
import tempfile
import time

# SQLAlchemy 1.4 warns about 2.0 changes on stderr; the workload is plain 1.4 usage.
os.environ.setdefault('SQLALCHEMY_SILENCE_UBER_WARNING', '1')

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Role(db.Model):
    __tablename__ = 'roles'
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64), unique=True)
    users = db.relationship('User', backref='role')

    def __repr__(self):
        return '<Role %s>' % self.name


class User(db.Model):
    __tablename__ = 'users'
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(64), unique=True)
    role_id = db.Column(db.Integer, db.ForeignKey('roles.id'))

    def __repr__(self):
        return '<User %s>' % self.username


relations = db.Table(
    'relations',
    db.Column('student_id', db.Integer, db.ForeignKey('students.id')),
    db.Column('class_id', db.Integer, db.ForeignKey('classes.id')))


class Student(db.Model):
    __tablename__ = 'students'
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64))
    classes = db.relationship('Class', secondary=relations,
                              backref=db.backref('students', lazy='dynamic'),
                              lazy='dynamic')

    def __repr__(self):
        return '<Student %s>' % self.name


class Class(db.Model):
    __tablename__ = 'classes'
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(64))

    def __repr__(self):
        return '<Class %s>' % self.name


ROLES, CLASSES, STUDENTS, CLASSES_PER_STUDENT = 100, 200, 1000, 10


def phase(name, started):
    print('%s %.4f s' % (name, time.perf_counter() - started), flush=True)


def run(n):
    # insert: everything through the ORM, one commit (one transaction).
    t = time.perf_counter()
    roles = [Role(name='role%d' % i) for i in range(ROLES)]
    db.session.add_all(roles)
    for i in range(n):
        db.session.add(User(username='user%d' % i, role=roles[i % ROLES]))
    classes = [Class(name='class%d' % c) for c in range(CLASSES)]
    db.session.add_all(classes)
    for s in range(STUDENTS):
        student = Student(name='student%d' % s)
        db.session.add(student)
        for k in range(CLASSES_PER_STUDENT):
            student.classes.append(classes[(s * 7 + k) % CLASSES])
    db.session.commit()
    phase('insert', t)
    db.session.remove()

    # load_users_role: a new session; all users, then each one's role through the backref.
    t = time.perf_counter()
    total = 0
    for u in User.query.all():
        total += len(u.role.name)
    phase('load_users_role', t)
    check(total > 0, 'no role names were read')
    db.session.remove()

    # role_users: a new session; the lazy one-to-many collection of each role.
    t = time.perf_counter()
    users = sum(len(r.users) for r in Role.query.all())
    phase('role_users', t)
    check(users == n, 'roles hold %d users, expected %d' % (users, n))

    # class_students_count: the dynamic relationship answers with SELECT count(*).
    t = time.perf_counter()
    members = sum(c.students.count() for c in Class.query.all())
    phase('class_students_count', t)
    check(members == STUDENTS * CLASSES_PER_STUDENT,
          'classes hold %d students, expected %d' % (members, STUDENTS * CLASSES_PER_STUDENT))
    db.session.remove()


def check(ok, what):
    # The figures only mean something if the work was really done.
    if not ok:
        sys.exit('orm_sqlalchemy.py: %s' % what)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('n', nargs='?', type=int, default=100000, help='number of users')
    parser.add_argument('--db', help='SQLite file to create (default: a temporary file)')
    args = parser.parse_args()
    if args.n < ROLES:
        parser.error('N must be at least %d (one user per role)' % ROLES)

    with tempfile.TemporaryDirectory(prefix='bench-orm-') as tmp:
        path = os.path.abspath(args.db or os.path.join(tmp, 'bench.sqlite'))
        if os.path.exists(path):
            os.remove(path)  # a fresh file each run, as the C++ side does
        app = Flask(__name__)
        app.config['SQLALCHEMY_DATABASE_URI'] = 'sqlite:///' + path
        db.init_app(app)
        with app.app_context():
            db.create_all()
            run(args.n)


if __name__ == '__main__':
    main()
