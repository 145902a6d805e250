"""The reference side of the eventchat benchmark (issue #7).

A minimal ChatKit server on the official Python stack: `openai-chatkit`'s ChatKitServer with
our own SQLite Store, and `respond()` running an `openai-agents` Agent on an OpenAI-compatible
Chat Completions model (the benchmark's mock LLM). FastAPI + uvicorn, one process, the
ChatKit endpoint at POST /api/chatkit, GET /health for readiness. Written for the benchmark;
not copied from the ChatKit examples.

The agent offers one function tool, `getEventDetails(eventId)`, named like eventchat's, so that
with `eventchat-bench --tool-call-first` (the mock model calls it before every answer) both
servers run a tool round per turn. Here the tool is trivial (a constant result, no storage).

With a Chat Completions model, openai-agents gives every assistant message the placeholder id
`__fake_id__` and chatkit's `stream_agent_response` reuses it as the thread item id
(openai/chatkit-python#36): every reply would overwrite the previous one in the store, so the
history sent to the model would lack the assistant turns. `respond()` gives each message a
fresh id from the store instead, so the reference keeps whole conversations like eventchat.
And chatkit's default converter sends stored assistant messages back as `output_text` parts,
which openai-agents' Chat Completions converter rejects ("Unknown content"); `HistoryConverter`
sends them as plain text.

    python reference_server.py --port 8100 --db /tmp/ref.sqlite3 --llm-base-url http://127.0.0.1:9000/v1
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from typing import Any, AsyncIterator

import uvicorn
from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from chatkit.agents import AgentContext, ThreadItemConverter, stream_agent_response
from chatkit.server import ChatKitServer, StreamingResult
from chatkit.store import NotFoundError, Store
from agents.models.fake_id import FAKE_RESPONSES_ID
from chatkit.types import (
    AssistantMessageItem,
    Attachment,
    Page,
    ThreadItem,
    ThreadItemAddedEvent,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadMetadata,
    ThreadStreamEvent,
    UserMessageItem,
)
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from openai import AsyncOpenAI, Timeout
from pydantic import TypeAdapter

ITEM = TypeAdapter(ThreadItem)
ATTACHMENT = TypeAdapter(Attachment)
HISTORY_ITEMS = 40


class SQLiteStore(Store[dict[str, Any]]):
    """Threads and items as JSON rows in one SQLite file; `seq` keeps insertion order."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS threads (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT UNIQUE NOT NULL, data TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT UNIQUE NOT NULL, thread_id TEXT NOT NULL, data TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS items_thread ON items(thread_id, seq);
            CREATE TABLE IF NOT EXISTS attachments (id TEXT PRIMARY KEY, data TEXT NOT NULL);
            """
        )

    # threads
    async def load_thread(self, thread_id: str, context: dict[str, Any]) -> ThreadMetadata:
        row = self.db.execute("SELECT data FROM threads WHERE id = ?", (thread_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"thread {thread_id} not found")
        return ThreadMetadata.model_validate_json(row[0])

    async def save_thread(self, thread: ThreadMetadata, context: dict[str, Any]) -> None:
        meta = ThreadMetadata.model_validate(thread.model_dump())
        self.db.execute(
            "INSERT INTO threads (id, data) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (thread.id, meta.model_dump_json()),
        )

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: dict[str, Any]
    ) -> Page[ThreadMetadata]:
        rows = self._page("threads", None, after, limit, order)
        data = [ThreadMetadata.model_validate_json(r[1]) for r in rows[:limit]]
        return Page(data=data, has_more=len(rows) > limit, after=data[-1].id if data else None)

    async def delete_thread(self, thread_id: str, context: dict[str, Any]) -> None:
        self.db.execute("DELETE FROM items WHERE thread_id = ?", (thread_id,))
        self.db.execute("DELETE FROM threads WHERE id = ?", (thread_id,))

    # items
    def _page(self, table: str, thread_id: str | None, after: str | None, limit: int, order: str):
        desc = order == "desc"
        where, args = [], []
        if thread_id is not None:
            where.append("thread_id = ?")
            args.append(thread_id)
        if after:
            where.append(f"seq {'<' if desc else '>'} (SELECT seq FROM {table} WHERE id = ?)")
            args.append(after)
        sql = f"SELECT id, data FROM {table}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY seq {'DESC' if desc else 'ASC'} LIMIT ?"
        args.append(limit + 1)
        return self.db.execute(sql, args).fetchall()

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: dict[str, Any]
    ) -> Page[ThreadItem]:
        rows = self._page("items", thread_id, after, limit, order)
        data = [ITEM.validate_json(r[1]) for r in rows[:limit]]
        return Page(data=data, has_more=len(rows) > limit, after=data[-1].id if data else None)

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: dict[str, Any]) -> None:
        await self.save_item(thread_id, item, context)

    async def save_item(self, thread_id: str, item: ThreadItem, context: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO items (id, thread_id, data) VALUES (?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
            (item.id, thread_id, ITEM.dump_json(item).decode()),
        )

    async def load_item(self, thread_id: str, item_id: str, context: dict[str, Any]) -> ThreadItem:
        row = self.db.execute(
            "SELECT data FROM items WHERE id = ? AND thread_id = ?", (item_id, thread_id)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"item {item_id} not found")
        return ITEM.validate_json(row[0])

    async def delete_thread_item(self, thread_id: str, item_id: str, context: dict[str, Any]) -> None:
        self.db.execute("DELETE FROM items WHERE id = ? AND thread_id = ?", (item_id, thread_id))

    # attachments (metadata only; the benchmark sends none)
    async def save_attachment(self, attachment: Attachment, context: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO attachments (id, data) VALUES (?, ?)",
            (attachment.id, ATTACHMENT.dump_json(attachment).decode()),
        )

    async def load_attachment(self, attachment_id: str, context: dict[str, Any]) -> Attachment:
        row = self.db.execute("SELECT data FROM attachments WHERE id = ?", (attachment_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"attachment {attachment_id} not found")
        return ATTACHMENT.validate_json(row[0])

    async def delete_attachment(self, attachment_id: str, context: dict[str, Any]) -> None:
        self.db.execute("DELETE FROM attachments WHERE id = ?", (attachment_id,))


class HistoryConverter(ThreadItemConverter):
    """Assistant turns as plain-text assistant messages, which Chat Completions accepts."""

    async def assistant_message_to_input(self, item: AssistantMessageItem) -> Any:
        text = "".join(c.text for c in item.content)
        return {"type": "message", "role": "assistant", "content": text}


CONVERTER = HistoryConverter()


class ReferenceServer(ChatKitServer[dict[str, Any]]):
    def __init__(self, store: SQLiteStore, agent: Agent) -> None:
        super().__init__(store)
        self.agent = agent

    async def respond(
        self,
        thread: ThreadMetadata,
        input_user_message: UserMessageItem | None,
        context: dict[str, Any],
    ) -> AsyncIterator[ThreadStreamEvent]:
        page = await self.store.load_thread_items(thread.id, None, HISTORY_ITEMS, "desc", context)
        history = list(reversed(page.data))
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(
            self.agent, await CONVERTER.to_agent_input(history), context=agent_context
        )
        # One fresh id per assistant message for the placeholder id (see the module docstring).
        real_id: str | None = None
        async for event in stream_agent_response(agent_context, result):
            if isinstance(event, ThreadItemAddedEvent) and event.item.id == FAKE_RESPONSES_ID:
                real_id = self.store.generate_item_id("message", thread, context)
                event.item.id = real_id
            elif isinstance(event, ThreadItemUpdatedEvent) and event.item_id == FAKE_RESPONSES_ID:
                event.item_id = real_id or event.item_id
            elif isinstance(event, ThreadItemDoneEvent) and event.item.id == FAKE_RESPONSES_ID:
                event.item.id = real_id or self.store.generate_item_id("message", thread, context)
                real_id = None
            yield event


EVENT_DETAILS = json.dumps(
    {
        "event": {"name": "Benchmark event", "status": "planning", "guestCount": 120},
        "venue": {"name": "Benchmark venue", "capacity": 200},
        "elements": [],
        "guests": {"total": 0},
        "openChangeRequests": [],
    }
)


@function_tool(name_override="getEventDetails")
def get_event_details(eventId: str) -> str:  # noqa: N803 (the name eventchat's tool uses)
    """Get an event's details: date, status, guest count, budget, venue, elements and guests.

    Args:
        eventId: The event id
    """
    return EVENT_DETAILS


def build_app(db_path: str, llm_base_url: str, model: str) -> FastAPI:
    set_tracing_disabled(True)
    # openai's default connect timeout is 5 s; at V=1024 this one-threaded process can be too
    # busy to complete a connect that fast, which would turn overload into errors.
    client = AsyncOpenAI(
        base_url=llm_base_url,
        api_key="sk-bench",
        max_retries=0,
        timeout=Timeout(600.0, connect=60.0),
    )
    agent = Agent(
        name="Event planning assistant",
        instructions="You help a client plan their event. Be concise.",
        model=OpenAIChatCompletionsModel(model=model, openai_client=client),
        tools=[get_event_details],
    )
    server = ReferenceServer(SQLiteStore(db_path), agent)
    app = FastAPI()

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.post("/api/chatkit")
    async def chatkit(request: Request) -> Response:
        result = await server.process(await request.body(), {})
        if isinstance(result, StreamingResult):
            return StreamingResponse(result, media_type="text/event-stream")
        return Response(content=result.json, media_type="application/json")

    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--db", default="reference.sqlite3")
    p.add_argument("--llm-base-url", required=True)
    p.add_argument("--model", default="gpt-4o")
    a = p.parse_args()
    app = build_app(a.db, a.llm_base_url, a.model)
    uvicorn.run(app, host="127.0.0.1", port=a.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
