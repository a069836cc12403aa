"""A market floor with a regulator, for the supervision tests."""

from __future__ import annotations

from dataclasses import dataclass

from dataex.store.runtime import Runtime
from tests.factories import Actor
from tests.market_setup import Floor, floor
from tests.platform_setup import admit


@dataclass
class Supervised:
    f: Floor
    regulator: Actor

    @property
    def runtime(self) -> Runtime:
        return self.f.runtime


async def supervised(runtime: Runtime) -> Supervised:
    f = await floor(runtime)
    regulator = await admit(runtime, f.operator, "regulator", ["regulator"])
    return Supervised(f, regulator)
