"""A raw, case-sensitive LIKE lookup (`search_text__like=pattern`).

Django's `contains` escapes wildcards and, on PostgreSQL, `icontains` compiles to
`UPPER(col) LIKE UPPER(...)`, which a trigram index on the bare column cannot serve. The search
column is stored folded, so a plain `LIKE` with an explicit pattern is what both backends need.
The caller escapes user input (customers.search_text.like_escape).
"""

from django.db.models import Lookup, TextField


@TextField.register_lookup
class Like(Lookup):
    lookup_name = "like"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        params = (*lhs_params, *rhs_params)
        if connection.vendor == "postgresql":
            # Backslash is PostgreSQL's default LIKE escape character.
            return f"{lhs} LIKE {rhs}", params
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", params
