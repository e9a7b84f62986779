"""Password hashes for the dashboard's login, in Werkzeug's text format so either tool can make them:
`scrypt:N:r:p$salt$hexdigest` (made here) or `pbkdf2:sha256:iterations$salt$hexdigest`.

Only the standard library's hashlib (scrypt, PBKDF2) and hmac (constant-time comparison) do the work."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1   # Werkzeug's and OWASP's scrypt cost (32 MiB, ~0.1 s)
MIN_SCRYPT_N = 2**14
MIN_PBKDF2_ITERATIONS = {"sha256": 600_000, "sha512": 210_000}  # OWASP's password storage minimums
MIN_PASSWORD_CHARS = 10
SALT_CHARS = 16
FORMAT = "scrypt:N:r:p$salt$hex or pbkdf2:sha256:iterations$salt$hex"


class HashError(ValueError):
    """A stored hash that is malformed, of an unknown method, or too cheap to be safe."""


@dataclass(frozen=True)
class PasswordHash:
    """A parsed hash: the method with its parameters, the salt and the expected digest."""

    method: str          # "scrypt" or "pbkdf2"
    params: tuple[int | str, ...]
    salt: str
    digest_hex: str

    def derive(self, password: str) -> str:
        """The hex digest of `password` under this hash's method, parameters and salt."""
        pw, salt = password.encode(), self.salt.encode()
        if self.method == "scrypt":
            n, r, p = (int(x) for x in self.params)
            return hashlib.scrypt(pw, salt=salt, n=n, r=r, p=p, maxmem=132 * n * r * p).hex()
        name, iterations = str(self.params[0]), int(self.params[1])
        return hashlib.pbkdf2_hmac(name, pw, salt, iterations).hex()

    def matches(self, password: str) -> bool:
        """True when `password` is the one hashed; compared in constant time."""
        return hmac.compare_digest(self.derive(password), self.digest_hex)

    def check_strength(self) -> PasswordHash:
        """Refuse parameters too cheap to resist guessing; returns self for chaining."""
        if self.method == "scrypt" and int(self.params[0]) < MIN_SCRYPT_N:
            raise HashError(f"scrypt N={self.params[0]} is below {MIN_SCRYPT_N}; make a new hash")
        if self.method == "pbkdf2":
            name, iterations = str(self.params[0]), int(self.params[1])
            floor = MIN_PBKDF2_ITERATIONS.get(name)
            if floor is None:
                raise HashError(f"pbkdf2 with {name} is not accepted (use sha256 or sha512)")
            if iterations < floor:
                raise HashError(f"pbkdf2:{name} with {iterations} iterations is below {floor:,}; make a new hash")
        return self


def parse(text: str) -> PasswordHash:
    """Parse `method$salt$hex`; HashError names what is wrong (never echoing the hash)."""
    parts = text.strip().split("$")
    if len(parts) != 3 or not all(parts):
        raise HashError(f"not a password hash (expected {FORMAT})")
    method, salt, digest = parts
    name, *args = method.split(":")
    try:
        bytes.fromhex(digest)
        if name == "scrypt" and len(args) == 3:
            n, r, p = (int(a) for a in args)
            if n < 2 or n & (n - 1) or r < 1 or p < 1:
                raise ValueError
            return PasswordHash("scrypt", (n, r, p), salt, digest.lower())
        if name == "pbkdf2" and len(args) == 2:
            hashlib.new(args[0])
            return PasswordHash("pbkdf2", (args[0], int(args[1])), salt, digest.lower())
    except ValueError:
        pass
    raise HashError(f"not a password hash (expected {FORMAT})")


def make(password: str) -> str:
    """A new scrypt hash of `password` with a random salt, as text to store in a file or the environment."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise HashError(f"password too short: at least {MIN_PASSWORD_CHARS} characters")
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    salt = "".join(secrets.choice(alphabet) for _ in range(SALT_CHARS))
    parsed = PasswordHash("scrypt", (SCRYPT_N, SCRYPT_R, SCRYPT_P), salt, "")
    return f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}${salt}${parsed.derive(password)}"
