from odoo import api, fields, models
from odoo.tools import SQL

from .crm_bonus_plan import KPI_TYPES
from .crm_bonus_statement import OPEN_STATES

# States whose figures never change any more: what their sources count differently
# later goes into the next open statement
CLOSED_STATES = ("approved", "posted", "paid")


class CrmBonusStatement(models.Model):
    _inherit = "crm.bonus.statement"

    # ------------------------------------------------------------------
    # AUTOMATIC UPDATES
    # ------------------------------------------------------------------
    # A change to a source document marks the statements covering it
    # (``to_recompute``) with one UPDATE per change batch: ``_mark_dirty``, called by
    # the sources' write/create/unlink. The cron ``_cron_update_statements`` then
    # recomputes the marked open statements in batches. A marked closed statement
    # (approved, posted, paid) never changes: the difference between what it counted
    # and what its sources count now goes, as adjustment lines, into the next open
    # statement of the same salesperson and plan (created if its target exists,
    # otherwise the closed statement stays marked until one exists).

    @api.model
    def _mark_dirty(self, rows):
        """Mark the statements of ``rows`` (salesperson id, company id or None for
        any company, date) to compute again, in one UPDATE. A day next to a
        period marks it too: a datetime's UTC day may be the salesperson's next or
        previous one (computing a statement once more changes nothing)."""
        rows = {(user, company or None, day) for user, company, day in rows if user}
        rows = [row for row in rows if row[2]]
        if not rows:
            return
        users, companies, days = zip(*rows, strict=True)
        self.flush_model(
            ["user_id", "company_id", "date_from", "date_to", "state", "to_recompute"]
        )
        self.env.cr.execute(
            SQL(
                """
                UPDATE crm_bonus_statement s SET to_recompute = TRUE
                  FROM unnest(%(users)s::int[], %(companies)s::int[],
                              %(days)s::date[]) AS v(user_id, company_id, day)
                 WHERE s.user_id = v.user_id
                   AND (v.company_id IS NULL OR s.company_id = v.company_id)
                   AND v.day BETWEEN s.date_from - 1 AND s.date_to + 1
                   AND s.state IN %(states)s AND s.to_recompute IS NOT TRUE
                """,
                users=list(users),
                companies=list(companies),
                days=[fields.Date.to_date(day) for day in days],
                states=OPEN_STATES + CLOSED_STATES,
            )
        )
        if self.env.cr.rowcount:
            self.invalidate_model(["to_recompute"])

    @api.model
    def _first_confirmed_orders(self, customers, orders):
        """The first confirmed order in the company of each customer of
        ``customers`` ((commercial partner id, company id) pairs), ``orders``
        aside: the order the customer's new customer counts on (see
        ``_sql_new_customers``). Returns rows (salesperson id, company id, order
        date) for ``_mark_dirty``; none when no statement counts new customers. One
        query, whatever the number of customers."""
        self.env["sale.order"].flush_model(
            ["partner_id", "company_id", "state", "date_order", "user_id"]
        )
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.flush_model(["state"])
        self.env["crm.bonus.statement.kpi"].flush_model(["statement_id", "kpi_type"])
        partners, companies = zip(*customers, strict=True)
        self.env.cr.execute(
            SQL(
                """
                SELECT f.user_id, f.company_id, f.date_order
                  FROM unnest(%(partners)s::int[], %(companies)s::int[])
                       AS c(partner_id, company_id)
                 CROSS JOIN LATERAL (
                    SELECT so.user_id, so.company_id, so.date_order
                      FROM res_partner rp
                      JOIN sale_order so ON so.partner_id = rp.id
                     WHERE rp.commercial_partner_id = c.partner_id
                       AND so.company_id = c.company_id AND so.state = 'sale'
                       AND so.id != ALL(%(orders)s::int[])
                     ORDER BY so.date_order, so.id
                     LIMIT 1
                 ) f
                 WHERE EXISTS (
                    SELECT 1 FROM crm_bonus_statement_kpi k
                      JOIN crm_bonus_statement s ON s.id = k.statement_id
                     WHERE k.kpi_type = 'new_customers' AND s.state IN %(states)s)
                """,
                partners=list(partners),
                companies=list(companies),
                orders=orders.ids,
                states=OPEN_STATES + CLOSED_STATES,
            )
        )
        return self.env.cr.fetchall()

    def _sql_next_open(self, alias="c"):
        """Lateral subquery: the next open statement of the same salesperson, plan
        and company as the (closed) statement ``alias``."""
        return SQL(
            """
            SELECT o.id FROM crm_bonus_statement o
             WHERE o.user_id = %(c)s.user_id AND o.plan_id = %(c)s.plan_id
               AND o.company_id = %(c)s.company_id AND o.state IN %(open)s
               AND o.date_from > %(c)s.date_to
             ORDER BY o.date_from, o.id
             LIMIT 1
            """,
            c=SQL.identifier(alias),
            open=OPEN_STATES,
        )

    def _sql_to_update(self):
        """The open statements the update has to compute: marked ones and the next
        open statements of marked closed ones."""
        return SQL(
            """
            SELECT id FROM crm_bonus_statement
             WHERE state IN %(open)s AND to_recompute IS TRUE
             UNION
            SELECT n.id FROM crm_bonus_statement c
             CROSS JOIN LATERAL (%(next)s) n
             WHERE c.state IN %(closed)s AND c.to_recompute IS TRUE
            """,
            open=OPEN_STATES,
            closed=CLOSED_STATES,
            next=self._sql_next_open(),
        )

    def _insert_adjustments(self, statements, kpi_types):
        """Called by ``_compute_statements``: the adjustment lines of the open
        ``statements`` for the marked closed statements they follow, replacing
        earlier ones (never added twice), then the marks are cleared."""
        cr = self.env.cr
        ids = tuple(statements.ids)
        cr.execute(
            SQL(
                """
                SELECT c.id, n.id
                  FROM crm_bonus_statement c
                 CROSS JOIN LATERAL (%(next)s) n
                 WHERE c.state IN %(closed)s AND c.to_recompute IS TRUE
                   AND c.user_id IN %(users)s AND n.id IN %(ids)s
                   FOR NO KEY UPDATE OF c
                """,
                next=self._sql_next_open(),
                closed=CLOSED_STATES,
                users=tuple(statements.mapped("user_id").ids) or (0,),
                ids=ids,
            )
        )
        pairs = cr.fetchall()
        if pairs:
            closed_ids = tuple(pair[0] for pair in pairs)
            # What the closed statements' sources count now
            cr.execute(
                """
                CREATE TEMP TABLE IF NOT EXISTS crm_bonus_recount
                    (LIKE crm_bonus_statement_line INCLUDING DEFAULTS) ON COMMIT DROP;
                TRUNCATE crm_bonus_recount;
                """
            )
            recount_scope = {
                kpi_type: rows
                for kpi_type, rows in self._fetch_scope(closed_ids).items()
                if kpi_type in kpi_types
            }
            for kpi_type, _label in KPI_TYPES:
                self._insert_lines(recount_scope, kpi_type, table="crm_bonus_recount")
            cr.execute(self._sql_adjustments(pairs))
        cr.execute(
            SQL(
                """
                UPDATE crm_bonus_statement SET to_recompute = FALSE
                 WHERE id IN %(ids)s AND to_recompute IS TRUE
                """,
                ids=ids + tuple(pair[0] for pair in pairs),
            )
        )
        self.invalidate_model(["to_recompute"])

    def _sql_adjustments(self, pairs):
        """One statement: drop the adjustments for the closed statements of
        ``pairs`` (closed id, next open id) held by open statements (those not
        computed now are marked), and insert into the next open statements the
        difference, per KPI and source document, between what the sources count now
        (``crm_bonus_recount``) and what the closed statements and their adjustments
        in closed statements counted."""
        keys = SQL(
            "kpi_type, order_id, invoice_id, payment_move_id, event_id, phonecall_id"
        )
        closed_ids = tuple(pair[0] for pair in pairs)
        return SQL(
            """
            WITH next AS (
                SELECT * FROM unnest(%(closed)s::int[], %(next)s::int[])
                    AS v(closed_id, next_id)
            ),
            dropped AS (
                DELETE FROM crm_bonus_statement_line l
                 USING crm_bonus_statement s
                 WHERE l.adjusted_statement_id IN %(closed_ids)s
                   AND s.id = l.statement_id AND s.state IN %(open)s
                RETURNING l.statement_id
            ),
            marked AS (
                UPDATE crm_bonus_statement SET to_recompute = TRUE
                 WHERE id IN (SELECT statement_id FROM dropped)
                   AND id NOT IN (SELECT next_id FROM next)
            ),
            counted AS (
                SELECT COALESCE(l.adjusted_statement_id, l.statement_id) AS closed_id,
                       %(l_keys)s, l.partial_id, l.partner_id, l.date,
                       -l.amount AS amount
                  FROM crm_bonus_statement_line l
                  JOIN crm_bonus_statement s ON s.id = l.statement_id
                 WHERE s.state IN %(closed_states)s
                   AND ((l.statement_id IN %(closed_ids)s
                         AND l.is_adjustment IS NOT TRUE)
                        OR l.adjusted_statement_id IN %(closed_ids)s)
                 UNION ALL
                SELECT statement_id, %(keys)s, partial_id, partner_id, date, amount
                  FROM crm_bonus_recount
            ),
            diff AS (
                SELECT closed_id, %(keys)s, max(partial_id) AS partial_id,
                       max(partner_id) AS partner_id, max(date) AS date,
                       sum(amount) AS amount
                  FROM counted
                 GROUP BY closed_id, %(keys)s
                HAVING abs(sum(amount)) > 0.00001
            )
            INSERT INTO crm_bonus_statement_line (
                statement_id, statement_kpi_id, %(keys)s, partial_id, partner_id,
                date, amount, company_id, user_id, is_adjustment,
                adjusted_statement_id
            )
            SELECT n.next_id, k.id, %(d_keys)s, d.partial_id, d.partner_id, d.date,
                   d.amount, s.company_id, s.user_id, TRUE, d.closed_id
              FROM diff d
              JOIN next n ON n.closed_id = d.closed_id
              JOIN crm_bonus_statement s ON s.id = n.next_id
              JOIN crm_bonus_statement_kpi k
                ON k.statement_id = n.next_id AND k.kpi_type = d.kpi_type
            """,
            closed=list(closed_ids),
            next=[pair[1] for pair in pairs],
            closed_ids=closed_ids,
            open=OPEN_STATES,
            closed_states=CLOSED_STATES,
            keys=keys,
            l_keys=SQL(
                "l.kpi_type, l.order_id, l.invoice_id, l.payment_move_id, "
                "l.event_id, l.phonecall_id"
            ),
            d_keys=SQL(
                "d.kpi_type, d.order_id, d.invoice_id, d.payment_move_id, "
                "d.event_id, d.phonecall_id"
            ),
        )

    @api.model
    def _update_statements(self, batch_size=200):
        """Compute a batch of the statements to update (marked, or following a
        marked closed statement); statements locked by another worker are skipped
        and left marked for the next run. Returns (done, remaining)."""
        self.env.flush_all()
        cr = self.env.cr
        # Marked closed statements with no next open statement: open the next one
        # where its target exists (otherwise the adjustment waits for one).
        cr.execute(
            SQL(
                """
                SELECT DISTINCT ON (c.id) t.id
                  FROM crm_bonus_statement c
                  JOIN crm_bonus_target t
                    ON t.user_id = c.user_id AND t.plan_id = c.plan_id
                   AND t.company_id = c.company_id AND t.date_from > c.date_to
                 WHERE c.state IN %(closed)s AND c.to_recompute IS TRUE
                   AND NOT EXISTS (%(next)s)
                   AND NOT EXISTS (
                        SELECT 1 FROM crm_bonus_statement x
                         WHERE x.target_id = t.id AND x.state != 'cancelled')
                 ORDER BY c.id, t.date_from
                """,
                closed=CLOSED_STATES,
                next=self._sql_next_open(),
            )
        )
        target_ids = {row[0] for row in cr.fetchall()}
        if target_ids:
            self.create([{"target_id": target_id} for target_id in target_ids])
            self.env.flush_all()
        cr.execute(
            SQL(
                """
                SELECT id FROM crm_bonus_statement
                 WHERE id IN (%(todo)s)
                 ORDER BY id
                 LIMIT %(limit)s
                   FOR NO KEY UPDATE SKIP LOCKED
                """,
                todo=self._sql_to_update(),
                limit=batch_size,
            )
        )
        statements = self.browse(row[0] for row in cr.fetchall())
        if statements:
            self._compute_statements(statements)
        remaining = 0
        if len(statements) == batch_size:
            cr.execute(SQL("SELECT count(*) FROM (%s) todo", self._sql_to_update()))
            remaining = cr.fetchone()[0]
        return len(statements), remaining

    @api.model
    def _cron_update_statements(self, batch_size=200):
        """Automatic update of the bonus statements whose sources changed, one
        batch per call; the cron runs again at once while some are left."""
        done, remaining = self._update_statements(batch_size)
        self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done
