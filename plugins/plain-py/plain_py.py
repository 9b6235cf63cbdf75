"""plain_py: a plain WebAssembly component written in Python (world `plain-py` in wit/), built by
componentize-py with no Capsule SDK. Issue #16's end-to-end tests call each export through Capsule
(tests/e2e/test_plain_components.py). componentize-py binds the world's exports to the methods of the
class `WitWorld` below; a `result` function returns its ok value and raises `Err` with its error.
"""

from componentize_py_types import Err

import wit_world
from wit_world import Item


class WitWorld(wit_world.WitWorld):
    def greet(self, name: str) -> str:
        return f"Hello, {name}!"

    def add(self, a: int, b: int) -> int:
        return a + b

    def restock(self, it: Item, extra: int) -> Item:
        return Item(name=it.name, quantity=it.quantity + extra, note=it.note)

    def total_quantity(self, items: list[Item]) -> int:
        return sum(item.quantity for item in items)

    def first_word(self, text: str) -> str | None:
        words = text.split()
        return words[0] if words else None

    def initials(self, names: list[str], separator: str | None) -> str:
        return (separator or "").join(name[:1].upper() for name in names if name)

    def checked_div(self, a: int, b: int) -> int:
        if b == 0:
            raise Err(f"cannot divide {a} by zero")
        return int(a / b)
