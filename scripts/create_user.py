"""Create a user (bootstrap the first admin), or reset a password when every admin is locked out.

    python -m scripts.create_user --role admin --username asha            # asks for the password twice
    printf '%s\\n' "$PW" | python -m scripts.create_user --role admin --username asha --password-stdin
    python -m scripts.create_user --role admin --username 'auth0|64f1...' --auth0 --email asha@example.com
    python -m scripts.create_user --username asha --reset-password        # new password, lockout lifted

Uses the database the environment selects (DATABASE_URL, SUPABASE_*, else data/meterline.db).
The password is never taken on the command line (it would land in the shell history and `ps`).
"""
from __future__ import annotations

import argparse
import getpass
import sys

from services.accounts.auth import AuthService
from services.config import Settings, open_storage
from services.errors import MeterlineError
from services.accounts.roles import ROLES, Actor

SCRIPT_ACTOR = Actor(None, "create_user", "system", "cli")


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m scripts.create_user", description=__doc__.split("\n\n")[0])
    p.add_argument("--username", required=True, help="login name; for --auth0, the Auth0 user id (sub) or any name")
    p.add_argument("--role", choices=list(ROLES), default=None, help="role of a new user (required unless --reset-password)")
    p.add_argument("--display-name", default="", help="name shown in the app")
    p.add_argument("--email", default=None, help="email (for --auth0: matched when Auth0 says it is verified)")
    p.add_argument("--auth0", action="store_true", help="the user signs in with Auth0 (no local password)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    p.add_argument("--reset-password", action="store_true",
                   help="set a new password for an existing local user, lift a lockout and end their sessions")
    args = p.parse_args(argv)
    if not args.reset_password and not args.role:
        p.error("--role is required when creating a user")
    if args.auth0 and (args.password_stdin or args.reset_password):
        p.error("--auth0 users have no local password")
    return args


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line  # keep every other character, spaces included
    first = getpass.getpass("Password (12+ characters): ")
    if getpass.getpass("Password again: ") != first:
        raise SystemExit("The two passwords differ; nothing was changed.")
    return first


def main(argv=None) -> int:
    args = parse(argv)
    storage = open_storage(Settings.from_env())
    auth = AuthService(storage)
    try:
        if args.reset_password:
            user = storage.get_user(username=args.username)
            if user is None:
                print(f"No user named '{args.username}'; nothing was changed.", file=sys.stderr)
                return 1
            auth.reset_password(SCRIPT_ACTOR, user.id, read_password(args.password_stdin))
            print(f"Password of '{user.username}' reset; lockout lifted and their sessions ended.")
            return 0
        password = None if args.auth0 else read_password(args.password_stdin)
        user = auth.create_user(SCRIPT_ACTOR, username=args.username, role=args.role, password=password,
                                display_name=args.display_name, email=args.email,
                                auth_provider="auth0" if args.auth0 else "local")
    except MeterlineError as exc:
        print(f"Refused: {exc}. Nothing was changed.", file=sys.stderr)
        return 1
    how = "signs in with Auth0" if args.auth0 else "signs in with a password"
    print(f"Created user '{user.username}' ({ROLES[user.role].label}, {how}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
