"""Database helpers shared by migrations."""


def postgresql_only(statements: list[str]):
    """A RunPython function that executes `statements` on PostgreSQL and does nothing elsewhere.

    For what SQLite has no equivalent of (trigram and GIN indexes, expression and partial
    indexes the model state does not describe); the queries stay correct without them.
    """

    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply
