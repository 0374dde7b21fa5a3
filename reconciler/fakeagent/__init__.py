"""A stand-in agent CLI (``provider: fake``) for the demo and the tests, and the demo specs."""
