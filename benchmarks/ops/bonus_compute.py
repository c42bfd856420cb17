"""Bonus statements: the statements of the dataset's salespeople over one quarter.

The quarter is the one with the most posted customer invoices. ``prepare`` creates (in
the rolled-back benchmark transaction) a quarterly plan of confirmed sales (40 %),
invoiced revenue (30 %) and paid revenue (30 %), a target and a draft statement for
each salesperson with documents in the quarter. crm_extended computes them at once
(``_compute_statements``: source lines written by one INSERT ... SELECT per KPI, a
constant number of queries). The SQL floor is one hand-written aggregation of the same
achievements per salesperson (no source lines written). The ORM loop goes salesperson
by salesperson: searches their confirmed orders, posted invoices and the
reconciliations of their invoices and sums them in Python (timed on a sample,
extrapolated by the number of salespeople).

The answer: ``{(salesperson id, KPI): achieved}`` rounded to cents; answers agree within
a cent per figure (float against numeric sums).
"""

from harness import Operation

from odoo import Command
from odoo.tools import SQL

# The salespeople of the dataset
SIZES = {"S": 200, "M": 200, "L": 200}
ORM_SAMPLES = {"S": 20, "M": 10, "L": 5}
KPIS = {"confirmed_sales": 40, "invoiced_revenue": 30, "paid_revenue": 30}


def _answer(rows):
    return {
        (user_id, kpi): round(float(value or 0.0), 2) for user_id, kpi, value in rows
    }


class BonusCompute(Operation):
    name = "bonus statements (quarter)"

    def __init__(self, size_name, size):
        super().__init__(size_name, size)
        self.orm_sample = ORM_SAMPLES[size_name]

    def prepare(self, env):
        company = env.company
        env.cr.execute(
            SQL(
                """
                SELECT date_trunc('quarter', invoice_date)::date, count(*)
                  FROM account_move
                 WHERE move_type = 'out_invoice' AND state = 'posted'
                   AND company_id = %s
                 GROUP BY 1 ORDER BY 2 DESC, 1 DESC LIMIT 1
                """,
                company.id,
            )
        )
        date_from = env.cr.fetchone()[0]
        plan = env["crm.bonus.plan"].create(
            {
                "name": "Benchmark plan",
                "company_id": company.id,
                "currency_id": company.currency_id.id,
                "period_type": "quarter",
                "date_start": date_from,
                "kpi_ids": [
                    Command.create({"kpi_type": kpi, "weight": weight})
                    for kpi, weight in KPIS.items()
                ],
                "level_ids": [
                    Command.create({"attainment": 100, "payout_factor": 100})
                ],
                "cap": 200,
            }
        )
        plan.action_approve()
        env.cr.execute(
            SQL(
                """
                SELECT DISTINCT invoice_user_id FROM account_move
                 WHERE move_type = 'out_invoice' AND state = 'posted'
                   AND company_id = %s AND invoice_user_id IS NOT NULL
                   AND invoice_date >= %s
                   AND invoice_date < %s::date + interval '3 months'
                 ORDER BY 1
                """,
                company.id,
                date_from,
                date_from,
            )
        )
        user_ids = [row[0] for row in env.cr.fetchall()]
        targets = env["crm.bonus.target"].create(
            [
                {
                    "plan_id": plan.id,
                    "user_id": user_id,
                    "date_from": date_from,
                    "amount_on_target": 1000,
                    "line_ids": [
                        Command.create({"kpi_type": kpi, "target": 100_000})
                        for kpi in KPIS
                    ],
                }
                for user_id in user_ids
            ]
        )
        statements = env["crm.bonus.statement"].create(
            [{"target_id": target.id} for target in targets]
        )
        env.flush_all()
        date_to = targets[:1].date_to
        env.cr.execute(
            SQL(
                """
                SELECT count(*),
                       count(*) FILTER (WHERE m.invoice_date BETWEEN %s AND %s)
                  FROM account_move_line aml
                  JOIN account_move m ON m.id = aml.move_id
                 WHERE m.move_type IN ('out_invoice', 'out_refund')
                   AND aml.display_type = 'product' AND m.company_id = %s
                """,
                date_from,
                date_to,
                company.id,
            )
        )
        total, in_quarter = env.cr.fetchone()
        print(
            f"  {total:,} customer invoice lines, {in_quarter:,} of them in the "
            f"quarter from {date_from}",
            flush=True,
        )
        return {
            "company": company,
            "statements": statements,
            "user_ids": user_ids,
            "date_from": date_from,
            "date_to": date_to,
        }

    def orm_factor(self, ctx, sample):
        return len(ctx["user_ids"]) / sample

    def crm_extended(self, env, ctx):
        statements = ctx["statements"]
        env["crm.bonus.statement"]._compute_statements(statements)
        env.cr.execute(
            SQL(
                """
                SELECT s.user_id, k.kpi_type, k.achieved
                  FROM crm_bonus_statement_kpi k
                  JOIN crm_bonus_statement s ON s.id = k.statement_id
                 WHERE s.id IN %s
                """,
                tuple(statements.ids),
            )
        )
        return _answer(env.cr.fetchall())

    def sql_floor(self, env, ctx):
        env.cr.execute(
            SQL(
                """
                WITH users AS (SELECT unnest(%(users)s::int[]) AS user_id),
                sales AS (
                    SELECT so.user_id,
                           sum(sol.price_subtotal
                               / COALESCE(NULLIF(so.currency_rate, 0), 1)) AS amount
                      FROM sale_order so
                      JOIN sale_order_line sol
                        ON sol.order_id = so.id AND sol.display_type IS NULL
                     WHERE so.state = 'sale' AND so.company_id = %(company)s
                       AND so.date_order >= %(date_from)s
                       AND so.date_order < %(date_to)s::date + 1
                     GROUP BY so.user_id
                ),
                invoiced AS (
                    SELECT m.invoice_user_id AS user_id, sum(-aml.balance) AS amount
                      FROM account_move m
                      JOIN account_move_line aml
                        ON aml.move_id = m.id AND aml.display_type = 'product'
                     WHERE m.state = 'posted' AND m.company_id = %(company)s
                       AND m.move_type IN ('out_invoice', 'out_refund')
                       AND m.invoice_date BETWEEN %(date_from)s AND %(date_to)s
                     GROUP BY m.invoice_user_id
                ),
                untaxed AS (
                    SELECT aml.move_id, sum(-aml.balance) AS amount
                      FROM account_move_line aml
                     WHERE aml.display_type = 'product'
                       AND aml.move_id IN (
                            SELECT rl.move_id
                              FROM account_partial_reconcile p
                              JOIN account_move_line rl
                                ON rl.id IN (p.debit_move_id, p.credit_move_id)
                             WHERE p.max_date BETWEEN %(date_from)s AND %(date_to)s)
                     GROUP BY aml.move_id
                ),
                paid AS (
                    SELECT m.invoice_user_id AS user_id,
                           sum(p.amount / abs(m.amount_total_signed) * u.amount)
                               AS amount
                      FROM account_partial_reconcile p
                      JOIN account_move_line rl
                        ON rl.id IN (p.debit_move_id, p.credit_move_id)
                      JOIN account_account ra
                        ON ra.id = rl.account_id
                       AND ra.account_type = 'asset_receivable'
                      JOIN account_move m
                        ON m.id = rl.move_id AND m.state = 'posted'
                       AND m.move_type IN ('out_invoice', 'out_refund')
                       AND m.company_id = %(company)s AND m.amount_total_signed != 0
                      JOIN account_move_line ol
                        ON ol.id = CASE WHEN rl.id = p.debit_move_id
                                        THEN p.credit_move_id
                                        ELSE p.debit_move_id END
                      JOIN account_move om
                        ON om.id = ol.move_id
                       AND om.move_type NOT IN ('out_invoice', 'out_refund')
                      JOIN untaxed u ON u.move_id = m.id
                     WHERE p.max_date BETWEEN %(date_from)s AND %(date_to)s
                     GROUP BY m.invoice_user_id
                )
                SELECT u.user_id, 'confirmed_sales', COALESCE(s.amount, 0)
                  FROM users u LEFT JOIN sales s ON s.user_id = u.user_id
                 UNION ALL
                SELECT u.user_id, 'invoiced_revenue', COALESCE(i.amount, 0)
                  FROM users u LEFT JOIN invoiced i ON i.user_id = u.user_id
                 UNION ALL
                SELECT u.user_id, 'paid_revenue', COALESCE(p.amount, 0)
                  FROM users u LEFT JOIN paid p ON p.user_id = u.user_id
                """,
                users=ctx["user_ids"],
                company=ctx["company"].id,
                date_from=ctx["date_from"],
                date_to=ctx["date_to"],
            )
        )
        return _answer(env.cr.fetchall())

    def orm_loop(self, env, ctx, sample):
        company = ctx["company"]
        date_from, date_to = ctx["date_from"], ctx["date_to"]
        user_ids = ctx["user_ids"][:sample] if sample else ctx["user_ids"]
        rows = []
        for user_id in user_ids:
            orders = env["sale.order"].search(
                [
                    ("user_id", "=", user_id),
                    ("company_id", "=", company.id),
                    ("state", "=", "sale"),
                    ("date_order", ">=", date_from),
                    ("date_order", "<", date_to.strftime("%Y-%m-%d 23:59:59")),
                ]
            )
            sales = sum(
                line.price_subtotal / (order.currency_rate or 1.0)
                for order in orders
                for line in order.order_line
                if not line.display_type
            )
            invoices = env["account.move"].search(
                [
                    ("invoice_user_id", "=", user_id),
                    ("company_id", "=", company.id),
                    ("state", "=", "posted"),
                    ("move_type", "in", ("out_invoice", "out_refund")),
                    ("invoice_date", ">=", date_from),
                    ("invoice_date", "<=", date_to),
                ]
            )
            invoiced = sum(
                -line.balance
                for move in invoices
                for line in move.invoice_line_ids
                if line.display_type == "product"
            )
            partials = env["account.partial.reconcile"].search(
                [
                    ("max_date", ">=", date_from),
                    ("max_date", "<=", date_to),
                    "|",
                    ("debit_move_id.move_id.invoice_user_id", "=", user_id),
                    ("credit_move_id.move_id.invoice_user_id", "=", user_id),
                ]
            )
            paid = 0.0
            for partial in partials:
                for line, other in (
                    (partial.debit_move_id, partial.credit_move_id),
                    (partial.credit_move_id, partial.debit_move_id),
                ):
                    move = line.move_id
                    if (
                        line.account_id.account_type == "asset_receivable"
                        and move.invoice_user_id.id == user_id
                        and move.state == "posted"
                        and move.company_id == company
                        and move.move_type in ("out_invoice", "out_refund")
                        and other.move_id.move_type not in ("out_invoice", "out_refund")
                        and move.amount_total_signed
                    ):
                        untaxed = sum(
                            -aml.balance
                            for aml in move.invoice_line_ids
                            if aml.display_type == "product"
                        )
                        paid += partial.amount / abs(move.amount_total_signed) * untaxed
            rows += [
                (user_id, "confirmed_sales", sales),
                (user_id, "invoiced_revenue", invoiced),
                (user_id, "paid_revenue", paid),
            ]
        return _answer(rows)

    def same(self, a, b):
        return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 0.02 for k in a)

    def same_sample(self, full, partial):
        return all(abs(full[k] - partial[k]) <= 0.02 for k in partial)


OPERATIONS = [BonusCompute]
