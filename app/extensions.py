"""Extensions created here and bound to the app in create_app()."""

from __future__ import annotations

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from app.db import Database

db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def _client_address() -> str:
    return get_remote_address() or request.remote_addr or "unknown"


limiter = Limiter(key_func=_client_address, default_limits=[])
