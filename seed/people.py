"""Customer identities: names, unique e-mail addresses and countries."""

from __future__ import annotations

import random
import unicodedata


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Aaliyah Adam Aiko Alejandro Alice Amara Amelia Andrea Anna Arjun Astrid Ben Bianca Carlos Charlotte "
    "Chloe Chen Clara Daniel David Diego Elena Eli Emily Emma Ethan Fatima Felix Finn Freya Gabriel Grace "
    "Hana Hannah Harper Hugo Ines Isaac Isabel Ivan Jack Jakob James Jasmine Javier Jonas Julia Kai Karin "
    "Kenji Laura Leila Leo Liam Lina Lucas Lucia Luca Maja Marco Maria Mateo Max Maya Mei Mia Milan Mohammed "
    "Nadia Noah Nora Olivia Omar Oscar Paula Pedro Priya Rafael Riya Rosa Ruby Sam Sara Sebastian Sofia "
    "Sophie Stella Theo Tomas Valentina Victor William Yara Yusuf Zoe"
)

LAST_NAMES = _words(
    "Abbott Adeyemi Alvarez Andersen Bakker Becker Bennett Berg Brooks Campbell Carter Castro Chen Clarke "
    "Costa Cruz Dahl Das Dubois Eriksson Evans Fischer Fleming Fontaine Garcia Gomez Gray Hansen Hartmann "
    "Hayes Hughes Ito Jansen Jensen Johansson Kaur Keller Kim Klein Kowalski Kumar Lambert Larsen Laurent "
    "Lee Lindqvist Lopez Martin Meyer Moreau Morgan Murphy Nakamura Nguyen Nielsen Novak Okafor Olsen "
    "Ortiz Park Patel Perez Peters Petrov Quinn Reed Reyes Richter Rossi Russo Sato Schmidt Schneider "
    "Shah Silva Singh Smith Sorensen Suzuki Tanaka Taylor Thompson Torres Tran Visser Vogel Wagner "
    "Walsh Weber Wong Wright Young Zhang Zimmermann"
)

DOMAINS = (
    ("gmail.com", 38),
    ("outlook.com", 12),
    ("yahoo.com", 8),
    ("icloud.com", 10),
    ("hotmail.com", 5),
    ("proton.me", 4),
    ("gmx.de", 4),
    ("web.de", 2),
    ("orange.fr", 2),
    ("fastmail.com", 1),
)

# ISO 3166-1 alpha-2, weighted like a shop that sells mostly to North America and Western Europe.
COUNTRIES = (
    ("US", 46),
    ("CA", 8),
    ("GB", 10),
    ("DE", 8),
    ("FR", 5),
    ("NL", 4),
    ("AU", 4),
    ("SE", 2),
    ("ES", 3),
    ("IT", 3),
    ("IE", 2),
    ("DK", 1),
    ("BE", 1),
    ("NZ", 1),
    ("JP", 1),
    ("SG", 1),
)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class Identities:
    """Hands out (name, email, country) triples with e-mail addresses unique across the whole dataset."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._taken: set[str] = set()
        self._domains = [d for d, _ in DOMAINS]
        self._domain_weights = [w for _, w in DOMAINS]
        self._countries = [c for c, _ in COUNTRIES]
        self._country_weights = [w for _, w in COUNTRIES]

    def next(self) -> tuple[str, str, str]:
        rng = self._rng
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES)
        country = rng.choices(self._countries, self._country_weights)[0]
        domain = rng.choices(self._domains, self._domain_weights)[0]
        f, la = _ascii(first), _ascii(last)
        style = rng.random()
        if style < 0.45:
            local = f"{f}.{la}"
        elif style < 0.65:
            local = f"{f}{la}"
        elif style < 0.80:
            local = f"{f[0]}{la}"
        elif style < 0.90:
            local = f"{f}_{la}{rng.randint(1, 99)}"
        else:
            local = f"{f}{rng.randint(70, 2005)}"
        email = f"{local}@{domain}"
        suffix = 2
        while email in self._taken:
            email = f"{local}{suffix}@{domain}"
            suffix += 1
        self._taken.add(email)
        return f"{first} {last}", email, country
