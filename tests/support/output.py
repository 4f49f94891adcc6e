"""A stand-in for the connection's output in tests that drive a Session in-process:
it keeps what the session queues, so a test reads the messages it would have sent."""


class QueuedOutput:
    def __init__(self) -> None:
        self.data = bytearray()

    def queue(self, data: bytes) -> None:
        self.data += data

    async def flush_if_full(self) -> None:
        pass

    async def flush(self) -> None:
        pass
