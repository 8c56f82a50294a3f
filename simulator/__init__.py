"""A faithful local LINE platform for tests, the demo and benchmarks (DESIGN §2)."""

from simulator.sim import SimChat, Simulator, SimUser, texts, user_id_for

__all__ = ["SimChat", "SimUser", "Simulator", "texts", "user_id_for"]
