"""Checks of a generated dataset through the ORM: ``check(env, sample=200)``.

Stored computed fields of a random sample of records are recomputed by the ORM and
compared with what is stored; set-wide invariants (balanced moves, residuals matching
the reconciliation, unique names, regions of partners) are checked in SQL.
Returns a list of mismatches (empty when the dataset is sound).
"""

import random
from contextlib import closing

from odoo.tools import SQL, float_compare

# Stored computed fields compared per model (fields Odoo recomputes from others).
COMPUTED = {
    "res.partner": [
        "commercial_partner_id",
        "complete_name",
        "email_normalized",
        "sales_region_id",
        "commercial_company_name",
        "contact_interval_days",
        "date_last_contact",
        "date_next_contact",
    ],
    "calendar.event": [
        "sfa_state",
        "sfa_partner_id",
        "sales_region_id",
        "sfa_team_id",
    ],
    "crm.lead": [
        "partner_name",
        "email_from",
        "email_normalized",
        "email_domain_criterion",
        "city",
        "state_id",
        "country_id",
        "zip",
        "street",
        "prorated_revenue",
        "day_open",
        "day_close",
        "sales_region_id",
        "company_id",
    ],
    "sale.order": [
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "invoice_status",
        "partner_invoice_id",
        "partner_shipping_id",
        "sales_region_id",
    ],
    "sale.order.line": [
        "price_subtotal",
        "price_total",
        "qty_invoiced",
        "qty_to_invoice",
        "invoice_status",
        "order_partner_id",
        "salesman_id",
        "untaxed_amount_invoiced",
        "untaxed_amount_to_invoice",
    ],
    "account.move": [
        "amount_untaxed",
        "amount_tax",
        "amount_total",
        "amount_residual",
        "payment_state",
        "commercial_partner_id",
        "invoice_partner_display_name",
        "sequence_prefix",
        "sequence_number",
        "sales_region_id",
    ],
    # balance, amount_residual and reconciled are synced by the move, not recomputed
    # alone: the set-wide invariants check them.
    "account.move.line": [
        "move_name",
        "parent_state",
        "date",
        "journal_id",
        "partner_id",
    ],
    "account.payment": ["is_reconciled", "is_matched", "name", "state"],
    "helpdesk.ticket": ["commercial_partner_id", "sales_region_id"],
}


def _sample(env, model, size, rng, domain=None):
    records = env[model].with_context(active_test=False)
    ids = records.search(domain or []).ids
    return records.browse(sorted(rng.sample(ids, min(size, len(ids)))))


def _same(field, stored, fresh):
    if field.type == "float" or field.type == "monetary":
        return float_compare(stored or 0.0, fresh or 0.0, precision_digits=2) == 0
    if field.type in ("many2one", "many2many", "one2many"):
        return stored.ids == fresh.ids
    return (stored or False) == (fresh or False)


def recompute_mismatches(records, field_names):
    """Recompute ``field_names`` of ``records`` and list the fields that differ."""
    if not records:
        return []
    env = records.env
    fields_ = [records._fields[name] for name in field_names]
    stored = {
        (record.id, field.name): record[field.name]
        for record in records
        for field in fields_
    }
    for field in fields_:
        env.add_to_compute(field, records)
    records._recompute_recordset(field_names)
    problems = []
    for record in records:
        for field in fields_:
            fresh = record[field.name]
            if not _same(field, stored[record.id, field.name], fresh):
                problems.append(
                    f"{records._name}({record.id}).{field.name}: stored "
                    f"{stored[record.id, field.name]!r}, computed {fresh!r}"
                )
    # Leave the stored values as they were: this is a check, not a repair.
    env.invalidate_all()
    return problems


def forecast_category_mismatches(leads):
    """The forecast category of ``leads``, read through the ORM, against what the
    ORM computes from their stage: won and lost opportunities have their stage's
    category; an open one has its stage's or one its salesperson chose (any key of
    the selection, never empty)."""
    if not leads:
        return []
    env = leads.env
    field = leads._fields["forecast_category"]
    keys = set(field.get_values(env))
    stored = {lead.id: lead.forecast_category for lead in leads}
    closed = {lead.id for lead in leads if not lead.active or lead.stage_id.is_won}
    # Recomputed in a savepoint rolled back: a check, not a repair.
    with closing(env.cr.savepoint()):
        env.add_to_compute(field, leads)
        leads._recompute_recordset(["forecast_category"])
        fresh = {lead.id: lead.forecast_category for lead in leads}
        env.flush_all()
    env.invalidate_all()
    problems = []
    for lead in leads:
        value = stored[lead.id]
        if value not in keys:
            problems.append(f"crm.lead({lead.id}).forecast_category: {value!r}")
        elif lead.forecast_category_stage_id != lead.stage_id:
            # The stage that set the category is the lead's own, as the ORM keeps it
            problems.append(
                f"crm.lead({lead.id}).forecast_category_stage_id: "
                f"{lead.forecast_category_stage_id.id}, stage {lead.stage_id.id}"
            )
        elif lead.id in closed and value != fresh[lead.id]:
            problems.append(
                f"crm.lead({lead.id}).forecast_category: stored {value!r}, "
                f"computed {fresh[lead.id]!r} (closed)"
            )
    return problems


def _rows(env, query):
    env.cr.execute(query)
    return env.cr.fetchall()


def invariant_mismatches(env, partner_ids=None):
    """Set-wide invariants; the generator's own rules (lost leads) only on the leads
    of ``partner_ids`` when given, as other data (demo) may follow other rules."""
    problems = []
    for move_id, balance in _rows(
        env,
        SQL(
            "SELECT move_id, SUM(balance) FROM account_move_line GROUP BY move_id "
            "HAVING ROUND(SUM(balance), 2) != 0 LIMIT 20"
        ),
    ):
        problems.append(f"account.move({move_id}) unbalanced by {balance}")
    for line_id, residual, expected in _rows(
        env,
        SQL(
            """
            WITH settled AS (
                SELECT l.id, l.amount_residual,
                       l.balance
                       - COALESCE((SELECT SUM(amount) FROM account_partial_reconcile
                                    WHERE debit_move_id = l.id), 0)
                       + COALESCE((SELECT SUM(amount) FROM account_partial_reconcile
                                    WHERE credit_move_id = l.id), 0) AS expected
                  FROM account_move_line l
                  JOIN account_account a ON a.id = l.account_id
                 WHERE a.reconcile
            )
            SELECT id, amount_residual, expected FROM settled
             WHERE ROUND(amount_residual - expected, 2) != 0
             LIMIT 20
            """
        ),
    ):
        problems.append(
            f"account.move.line({line_id}) residual {residual}, partials say {expected}"
        )
    for label, query in (
        (
            "duplicate move names",
            "SELECT journal_id, name FROM account_move WHERE state = 'posted' "
            "GROUP BY journal_id, name HAVING COUNT(*) > 1 LIMIT 20",
        ),
        (
            "duplicate sequence numbers",
            "SELECT journal_id, sequence_prefix, sequence_number FROM account_move "
            "WHERE state = 'posted' GROUP BY 1, 2, 3 HAVING COUNT(*) > 1 LIMIT 20",
        ),
        (
            "duplicate order names",
            "SELECT name FROM sale_order GROUP BY name HAVING COUNT(*) > 1 LIMIT 20",
        ),
        (
            "duplicate ticket numbers",
            "SELECT number FROM helpdesk_ticket GROUP BY number "
            "HAVING COUNT(*) > 1 LIMIT 20",
        ),
        (
            "move lines inconsistent with their move",
            "SELECT l.id FROM account_move_line l JOIN account_move m "
            "ON m.id = l.move_id WHERE l.date != m.date "
            "OR l.parent_state != m.state OR l.journal_id != m.journal_id "
            "OR l.move_name IS DISTINCT FROM m.name LIMIT 20",
        ),
        (
            "full reconciliations whose lines are not all settled",
            "SELECT l.id FROM account_move_line l WHERE l.full_reconcile_id IS NOT NULL"
            " AND (l.amount_residual != 0 OR NOT l.reconciled) LIMIT 20",
        ),
        (
            "matching numbers not pointing at their reconciliation",
            "SELECT l.id FROM account_move_line l WHERE l.full_reconcile_id IS NOT NULL"
            " AND l.matching_number != l.full_reconcile_id::text LIMIT 20",
        ),
        (
            "partners in a claimed state without a region",
            "SELECT p.id FROM res_partner p "
            "JOIN crm_sales_region_res_country_state_rel r ON r.state_id = p.state_id"
            " AND r.region_id IN (SELECT id FROM crm_sales_region WHERE active)"
            " WHERE p.sales_region_id IS NULL "
            "AND p.id = p.commercial_partner_id LIMIT 20",
        ),
        (
            # The cloner inserts with foreign key triggers off: check the links.
            "dangling links of cloned rows",
            "SELECT 'account_move_line', l.id FROM account_move_line l "
            "WHERE NOT EXISTS (SELECT 1 FROM account_move m WHERE m.id = l.move_id) "
            "UNION ALL SELECT 'sale_order_line', l.id FROM sale_order_line l "
            "WHERE NOT EXISTS (SELECT 1 FROM sale_order o WHERE o.id = l.order_id) "
            "UNION ALL SELECT 'account_payment', p.id FROM account_payment p "
            "WHERE p.move_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM account_move m WHERE m.id = p.move_id) "
            "UNION ALL SELECT 'account_partial_reconcile', r.id "
            "FROM account_partial_reconcile r WHERE NOT EXISTS "
            "(SELECT 1 FROM account_move_line l WHERE l.id = r.debit_move_id) "
            "OR NOT EXISTS "
            "(SELECT 1 FROM account_move_line l WHERE l.id = r.credit_move_id) "
            "UNION ALL SELECT 'sale_order_line_invoice_rel', r.invoice_line_id "
            "FROM sale_order_line_invoice_rel r WHERE NOT EXISTS "
            "(SELECT 1 FROM account_move_line l WHERE l.id = r.invoice_line_id) "
            "UNION ALL SELECT 'calendar_attendee', a.id FROM calendar_attendee a "
            "WHERE NOT EXISTS (SELECT 1 FROM calendar_event e WHERE e.id = a.event_id) "
            "LIMIT 20",
        ),
        (
            "customer work done without an outcome or a done date",
            "SELECT id FROM calendar_event WHERE sfa_state = 'done' "
            "AND (COALESCE(TRIM(sfa_outcome), '') = '' OR sfa_date_done IS NULL) "
            "LIMIT 20",
        ),
        (
            "customer work without a customer",
            "SELECT id FROM calendar_event WHERE sfa_kind IS NOT NULL "
            "AND sfa_partner_id IS NULL LIMIT 20",
        ),
        (
            "generated records with an external id",
            "SELECT d.model, d.res_id FROM ir_model_data d JOIN res_partner p "
            "ON d.model = 'res.partner' AND d.res_id = p.id "
            "WHERE p.name LIKE 'Gen %%' LIMIT 20",
        ),
    ):
        for row in _rows(env, SQL(query)):
            problems.append(f"{label}: {row}")
    scope = SQL("TRUE")
    if partner_ids is not None:
        scope = SQL("partner_id = ANY(%s)", list(partner_ids))
    for row in _rows(
        env,
        SQL(
            """
            SELECT id FROM crm_lead
             WHERE %s AND type = 'opportunity'
               AND (probability = 0 AND active
                    OR NOT active AND lost_reason_id IS NULL)
             LIMIT 20
            """,
            scope,
        ),
    ):
        problems.append(f"lost leads still active or without a lost reason: {row}")
    return problems


# The customer field of each checked model, to sample the records of some customers.
PARTNER_FIELDS = {
    "res.partner": "id",
    "sale.order.line": "order_partner_id",
    "calendar.event": "sfa_partner_id",
}


def check(env, sample=200, seed=1, partner_ids=None):
    """Every mismatch found on a random sample and in the set-wide invariants.

    With ``partner_ids``, only the records of these customers are sampled (the
    generated ones, in a database that also holds other data such as demo data).
    """
    rng = random.Random(seed)
    env = env(context=dict(env.context, active_test=False))
    problems = invariant_mismatches(env, partner_ids)
    domains = {
        "res.partner": [("is_company", "=", True)],
        "account.move": [("move_type", "=", "out_invoice")],
    }
    for model, field_names in COMPUTED.items():
        if model not in env:
            continue
        domain = list(domains.get(model, []))
        if partner_ids is not None:
            field = PARTNER_FIELDS.get(model, "partner_id")
            domain.append((field, "in", list(partner_ids)))
        records = _sample(env, model, sample, rng, domain)
        problems += recompute_mismatches(records, field_names)
    if "forecast_category" in env["crm.lead"]._fields:
        domain = [("type", "=", "opportunity")]
        if partner_ids is not None:
            domain.append(("partner_id", "in", list(partner_ids)))
        problems += forecast_category_mismatches(
            _sample(env, "crm.lead", sample, rng, domain)
        )
    return problems
