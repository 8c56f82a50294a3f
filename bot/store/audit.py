"""The audit log: who ran which admin command, with what, and how it ended."""

from __future__ import annotations

from pymongo import DESCENDING, IndexModel

from bot.store.base import StoreBase, utcnow

ERASED = "[erased]"


class AuditStore(StoreBase):
    INDEXES = {
        "audit": [
            IndexModel([("at", DESCENDING)]),
            IndexModel([("subject_member_id", DESCENDING)]),
            IndexModel([("actor", DESCENDING)]),
        ]
    }

    def audit(
        self,
        actor: str,
        role: str,
        command: str,
        args: list[str],
        result: str,
        subject_member_id: str | None = None,
    ) -> None:
        self.db.audit.insert_one(
            {
                "at": utcnow(),
                "actor": actor,
                "role": role,
                "command": command,
                "args": args,
                "result": result,
                "subject_member_id": subject_member_id,
            }
        )

    def audit_entries(self, limit: int = 50, **filters) -> list[dict]:
        return list(self.db.audit.find(filters).sort("at", DESCENDING).limit(limit))

    def scrub_audit_subject(self, member_id: str) -> int:
        """Erasure: arguments naming the member (code, phone) are blanked."""
        result = self.db.audit.update_many(
            {"subject_member_id": member_id}, {"$set": {"args": [ERASED]}}
        )
        return result.modified_count

    def pseudonymise_audit_actor(self, line_user_id: str, alias: str) -> int:
        """Erasure: what the person did stays on record under `alias`, minus what they typed."""
        result = self.db.audit.update_many(
            {"actor": line_user_id}, {"$set": {"actor": alias, "args": [ERASED]}}
        )
        return result.modified_count
