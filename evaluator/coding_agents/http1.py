"""Just enough HTTP/1.1 for the model proxy's Unix socket: read a request (Content-Length or
chunked body, with caps), write a reply. Agents speak ordinary HTTP through the forwarder."""
from __future__ import annotations

import asyncio
import json

from pydantic import BaseModel

MAX_HEADER = 64 * 1024
MAX_BODY = 64 * 1024 * 1024


class Request(BaseModel):
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 2:
        return None
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                await reader.readline()
                break
            if len(body) + size > MAX_BODY:
                return None
            body += await reader.readexactly(size)
            await reader.readline()
    else:
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            return None
        body = await reader.readexactly(length) if length else b""
    return Request(method=parts[0], path=parts[1], headers=headers, body=body)


def client_key(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else headers.get("x-api-key", "")


async def write(writer: asyncio.StreamWriter, data: bytes) -> bool:
    """Write to the agent; True when it has hung up."""
    try:
        writer.write(data)
        await writer.drain()
        return False
    except ConnectionError:
        return True


def error_body(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "agentgym_proxy", "code": None}}).encode()


async def send(writer: asyncio.StreamWriter, status: int, data: bytes, ctype: str = "application/json") -> None:
    head = f"HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {len(data)}\r\n\r\n"
    await write(writer, head.encode() + data)  # an agent that hung up does not stop the accounting
