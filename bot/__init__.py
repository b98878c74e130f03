"""The Telegram adapter: translate updates into engine inputs and engine replies into messages.

``translate`` turns an Update into an ``Incoming`` (pseudonymous chat key, delivery key,
engine input); ``handler.handle_update`` applies it exactly once and commits; ``render``
turns the engine's replies into ``Outgoing`` messages; ``app`` runs it by long polling and
``webhook`` behind ``POST /hooks/telegram``. Conversation state lives in the database only.
"""
