"""Clone ORM-made template records in bulk, in SQL.

A *bundle* is a set of rows over several tables made by the ORM (an order, its lines,
its invoice with lines, the payment and the reconciliation). ``clone_bundle`` inserts
``n`` copies of it: every column is copied from the template row, ids are allocated in
one block per table, foreign keys pointing inside the bundle are remapped to the copy,
and per-copy values (partner, salesperson, dates, names) replace the template's.
"""

import io

from odoo.tools import SQL

DATE_TYPES = ("date", "timestamp without time zone")
TEXT_TYPES = ("character varying", "text")


def copy_rows(cr, table, columns, rows):
    """Load ``rows`` into ``table`` with COPY (fast path for large batches)."""
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_copy_value(value) for value in row))
        buffer.write("\n")
    buffer.seek(0)
    cr.copy_expert(
        SQL(
            "COPY %s (%s) FROM STDIN",
            SQL.identifier(table),
            SQL(", ").join(SQL.identifier(column) for column in columns),
        ).code,
        buffer,
    )


def _copy_value(value):
    if value is None or value is False:
        return "\\N" if value is None else "f"
    if value is True:
        return "t"
    text = value if isinstance(value, str) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def reserve_ids(cr, table, count):
    """Reserve ``count`` consecutive ids of ``table``; returns the first one."""
    sequence = f"{table}_id_seq"
    cr.execute(SQL("SELECT nextval(%s)", sequence))
    first = cr.fetchone()[0]
    if count > 1:
        cr.execute(SQL("SELECT setval(%s, %s)", sequence, first + count - 1))
    return first


def table_columns(cr, table):
    cr.execute(
        SQL(
            """
            SELECT column_name, data_type FROM information_schema.columns
             WHERE table_name = %s AND table_schema = current_schema()
             ORDER BY ordinal_position
            """,
            table,
        )
    )
    return cr.fetchall()


def _foreign_keys(cr, table):
    """``{column: referenced table}`` of the single-column foreign keys of a table."""
    cr.execute(
        SQL(
            """
            SELECT a.attname, f.relname
              FROM pg_constraint c
              JOIN pg_class t ON t.oid = c.conrelid
              JOIN pg_class f ON f.oid = c.confrelid
              JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1]
             WHERE c.contype = 'f' AND t.relname = %s
               AND array_length(c.conkey, 1) = 1
            """,
            table,
        )
    )
    return dict(cr.fetchall())


def clone_bundle(
    env, bundle, copies, variables, aliases=None, tokens=(), row_variables=None
):
    """Insert ``len(copies)`` copies of a bundle of template rows.

    :param bundle: list of ``(table, ids)``; tables without an ``id`` column (many2many
        relations) are cloned for the rows whose foreign keys point into the bundle
    :param copies: list of tuples, one per copy, values of ``variables``
    :param variables: ``{name: SQL type}`` of the per-copy values; a column named like a
        variable (or aliased to one in ``aliases``, ``{table: {column: variable}}``)
        takes the copy's value where the template row has one. ``shift`` (days) is
        added to every date and datetime column.
    :param tokens: ``[(template text, variable)]``: text columns containing the
        template text get the copy's variable instead (names, references)
    :param row_variables: ``{(table, column): {template id: variable}}``: the column
        of the copy of that template row takes the variable (one value per row of a
        bundle, e.g. the sequence number of each move)
    :returns: ``{table: (first id, rows per copy)}``
    """
    cr = env.cr
    aliases = aliases or {}
    count = len(copies)
    names = list(variables)
    cr.execute("DROP TABLE IF EXISTS gen_copy")
    cr.execute(
        SQL(
            "CREATE TEMP TABLE gen_copy (q int, %s)",
            SQL(", ").join(
                SQL("%s %s", SQL.identifier(name), SQL(variables[name]))
                for name in names
            ),
        )
    )
    copy_rows(
        cr, "gen_copy", ["q", *names], ((q, *row) for q, row in enumerate(copies))
    )
    cr.execute("ANALYZE gen_copy")
    blocks = {}
    for table, ids in bundle:
        if ids is not None:
            ids = sorted(ids)
            blocks[table] = (reserve_ids(cr, table, count * len(ids)), len(ids), ids)
    cr.execute("DROP TABLE IF EXISTS gen_idx")
    cr.execute("CREATE TEMP TABLE gen_idx (tbl varchar, old_id int, idx int)")
    copy_rows(
        cr,
        "gen_idx",
        ["tbl", "old_id", "idx"],
        (
            (table, old_id, idx)
            for table, (_first, _k, ids) in blocks.items()
            for idx, old_id in enumerate(ids)
        ),
    )
    cr.execute("ANALYZE gen_idx")
    # Circular references (a move and its payment) are inserted as they come; the
    # foreign keys are checked again by the dataset checks.
    cr.execute("SET LOCAL session_replication_role = replica")
    for table, ids in bundle:
        _clone_table(
            cr, table, ids is not None, blocks, names, aliases, tokens, row_variables
        )
    cr.execute("SET LOCAL session_replication_role = origin")
    return {table: (first, k) for table, (first, k, _ids) in blocks.items()}


def _clone_table(cr, table, has_id, blocks, names, aliases, tokens, row_variables):
    columns = table_columns(cr, table)
    fkeys = _foreign_keys(cr, table)
    table_aliases = aliases.get(table, {})
    joins, exprs, targets = [], [], []
    if has_id:
        first, k, ids = blocks[table]
        targets.append(SQL.identifier("id"))
        exprs.append(SQL("%s + c.q * %s + i.idx", first, k))
        joins.append(SQL("JOIN gen_idx i ON i.tbl = %s AND i.old_id = t.id", table))
        where = SQL("t.id = ANY(%s)", ids)
    else:
        inside = [
            SQL("t.%s = ANY(%s)", SQL.identifier(col), blocks[ref][2])
            for col, ref in fkeys.items()
            if ref in blocks
        ]
        if not inside:
            return
        where = SQL("(%s)", SQL(" OR ").join(inside))
    for n, (column, data_type) in enumerate(columns):
        if column == "id":
            continue
        source = SQL("t.%s", SQL.identifier(column))
        variable = table_aliases.get(column, column if column in names else None)
        per_row = (row_variables or {}).get((table, column))
        if per_row:
            expr = SQL(
                "CASE t.id %s ELSE %s END",
                SQL(" ").join(
                    SQL("WHEN %s THEN c.%s", old_id, SQL.identifier(var))
                    for old_id, var in per_row.items()
                ),
                source,
            )
        elif fkeys.get(column) in blocks:
            ref_first, ref_k, _ids = blocks[fkeys[column]]
            alias = SQL.identifier(f"f{n}")
            joins.append(
                SQL(
                    "LEFT JOIN gen_idx %s ON %s.tbl = %s AND %s.old_id = %s",
                    alias,
                    alias,
                    fkeys[column],
                    alias,
                    source,
                )
            )
            expr = SQL(
                "CASE WHEN %s.idx IS NULL THEN %s ELSE %s + c.q * %s + %s.idx END",
                alias,
                source,
                ref_first,
                ref_k,
                alias,
            )
        elif variable and variable != "shift":
            expr = SQL(
                "CASE WHEN %s IS NULL THEN NULL ELSE c.%s END",
                source,
                SQL.identifier(variable),
            )
        elif data_type in DATE_TYPES and "shift" in names:
            expr = SQL("%s + c.shift * interval '1 day'", source)
            if data_type == "date":
                expr = SQL("(%s)::date", expr)
        elif data_type in TEXT_TYPES and tokens:
            expr = source
            for text, token_variable in tokens:
                expr = SQL(
                    "replace(%s, %s, c.%s)", expr, text, SQL.identifier(token_variable)
                )
        else:
            expr = source
        targets.append(SQL.identifier(column))
        exprs.append(expr)
    cr.execute(
        SQL(
            "INSERT INTO %s (%s) SELECT %s FROM gen_copy c CROSS JOIN %s t %s WHERE %s",
            SQL.identifier(table),
            SQL(", ").join(targets),
            SQL(", ").join(exprs),
            SQL.identifier(table),
            SQL(" ").join(joins),
            where,
        )
    )
