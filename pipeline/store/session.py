"""What every database connection of a command sets up: its name, a statement timeout, TCP keepalives."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pipeline.settings import DatabaseSettings

# The client's own deadline per statement is the server's statement_timeout plus this margin: the server
# cancels a slow statement itself (a clear error); the client only gives up when no answer comes at all
# (a dead network, a frozen server), which the server's timeout cannot notice.
CLIENT_MARGIN_S = 5.0


@dataclass(frozen=True)
class SessionOptions:
    """Connection settings sent to PostgreSQL at start-up (`server_settings`), plus the client deadline."""

    application_name: str = "swr-etl"
    statement_timeout: float = DatabaseSettings.statement_timeout
    keepalive_idle: float = DatabaseSettings.keepalive_idle
    keepalive_interval: float = DatabaseSettings.keepalive_interval
    keepalive_count: int = DatabaseSettings.keepalive_count

    @classmethod
    def from_settings(cls, database: DatabaseSettings, application_name: str) -> SessionOptions:
        """The options of one command (`application_name` names it in pg_stat_activity)."""
        return cls(
            application_name=application_name,
            statement_timeout=database.statement_timeout,
            keepalive_idle=database.keepalive_idle,
            keepalive_interval=database.keepalive_interval,
            keepalive_count=database.keepalive_count,
        )

    @property
    def command_timeout(self) -> float:
        """Seconds the client waits for any one statement before it calls the connection lost."""
        return self.statement_timeout + CLIENT_MARGIN_S

    def server_settings(self, role: str = "") -> dict[str, str]:
        """The session's settings; `role` is appended to the application name (`swr-etl crawl lock`).

        The keepalives are the server's (tcp_keepalives_*): asyncpg offers no option for its own socket's,
        and the client side is covered by `command_timeout` and, for the crawl lock, by its checks.
        """
        name = f"{self.application_name} {role}".strip()
        return {
            "application_name": name[:63],  # PostgreSQL's NAMEDATALEN
            "statement_timeout": str(math.ceil(self.statement_timeout * 1000)),
            "tcp_keepalives_idle": str(math.ceil(self.keepalive_idle)),
            "tcp_keepalives_interval": str(math.ceil(self.keepalive_interval)),
            "tcp_keepalives_count": str(self.keepalive_count),
        }
