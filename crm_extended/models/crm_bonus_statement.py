from collections import Counter

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL
from odoo.tools.sql import index_exists

from .crm_bonus_plan import KPI_TYPES

STATEMENT_STATES = [
    ("draft", "Draft"),
    ("to_approve", "To Approve"),
    ("approved", "Approved"),
    ("posted", "Posted"),
    ("paid", "Paid"),
    ("cancelled", "Cancelled"),
]
# States whose figures may still be computed again
OPEN_STATES = ("draft", "to_approve")
# States of a statement whose accrual is in the books
ACCOUNTED_STATES = ("posted", "paid")


class CrmBonusStatement(models.Model):
    _name = "crm.bonus.statement"
    _description = "Bonus Statement"
    _inherit = ["mail.thread", "crm.protected.fields.mixin"]
    _order = "date_from desc, user_id, id desc"
    _check_company_auto = True

    # Set by the actions (once they checked the caller's right) and by the
    # computation, never directly: not even by a bonus manager, who would approve
    # figures of their own making, nor post without an accountant.
    _protected_fields = dict.fromkeys(
        (
            "state",
            "amount_on_target",
            "attainment",
            "payout_factor",
            "amount_payout",
            "date_computed",
            "date_approved",
            "approved_by_id",
            "move_id",
            "to_recompute",
        ),
        "",
    )

    # Fields an approved, posted, paid or cancelled statement keeps as they are
    _FROZEN = {
        "target_id",
        "kpi_ids",
        "line_ids",
        "amount_on_target",
        "attainment",
        "payout_factor",
        "amount_payout",
        "date_computed",
    }

    name = fields.Char(related="target_id.name", store=True)
    target_id = fields.Many2one(
        "crm.bonus.target",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    user_id = fields.Many2one(
        related="target_id.user_id", string="Salesperson", store=True, index=True
    )
    plan_id = fields.Many2one(related="target_id.plan_id", store=True, index=True)
    company_id = fields.Many2one(
        related="target_id.company_id", store=True, index=True, precompute=True
    )
    currency_id = fields.Many2one(related="plan_id.currency_id", store=True)
    date_from = fields.Date(related="target_id.date_from", store=True)
    date_to = fields.Date(related="target_id.date_to", store=True)
    state = fields.Selection(
        STATEMENT_STATES,
        default="draft",
        required=True,
        tracking=True,
        copy=False,
        index=True,
    )
    kpi_ids = fields.One2many("crm.bonus.statement.kpi", "statement_id", string="KPIs")
    line_ids = fields.One2many(
        "crm.bonus.statement.line", "statement_id", string="Source Lines"
    )
    amount_on_target = fields.Monetary(
        string="On-Target Bonus",
        readonly=True,
        help="The target's on-target bonus when the statement was last computed.",
    )
    attainment = fields.Float(
        string="Attainment (%)",
        readonly=True,
        aggregator="avg",
        help="Sum of the KPIs' attainments weighted by the plan.",
    )
    payout_factor = fields.Float(
        string="Payout Factor (%)", readonly=True, aggregator="avg"
    )
    amount_payout = fields.Monetary(string="Payout", readonly=True, tracking=True)
    move_id = fields.Many2one(
        "account.move",
        string="Accrual Entry",
        readonly=True,
        copy=False,
        index="btree_not_null",
    )
    date_computed = fields.Datetime(string="Computed On", readonly=True, copy=False)
    date_approved = fields.Datetime(string="Approved On", readonly=True, copy=False)
    approved_by_id = fields.Many2one("res.users", readonly=True, copy=False)
    # Source documents, for the smart buttons
    order_count = fields.Integer(compute="_compute_source_counts")
    invoice_count = fields.Integer(compute="_compute_source_counts")
    payment_count = fields.Integer(compute="_compute_source_counts")
    event_count = fields.Integer(compute="_compute_source_counts")
    phonecall_count = fields.Integer(compute="_compute_source_counts")
    # Accounting: the accrual entry's payable line is reconciled
    is_paid = fields.Boolean(
        compute="_compute_is_paid",
        string="Paid",
        help="The payable line of the accrual entry is fully reconciled.",
    )
    # Automatic updates: a source document changed since the last computation
    to_recompute = fields.Boolean(
        string="To Update",
        readonly=True,
        copy=False,
        index=True,
        help="A source document changed since the statement was computed: the "
        "next automatic update computes it again (or, once approved, carries the "
        "difference into the next open statement).",
    )

    # One statement per target, cancelled ones aside: the unique index made by
    # init() (two requests creating one at once both pass the check in Python).
    _sql_constraints = [
        (
            "one_per_target",
            "",
            "A bonus target has one bonus statement, cancelled ones aside: cancel "
            "it before making a new one.",
        ),
    ]

    @api.depends("line_ids")
    def _compute_source_counts(self):
        counts = {
            statement: (orders, invoices, payments, events, calls)
            for statement, orders, invoices, payments, events, calls in self.env[
                "crm.bonus.statement.line"
            ]._read_group(
                [("statement_id", "in", self.ids)],
                ["statement_id"],
                [
                    "order_id:count_distinct",
                    "invoice_id:count_distinct",
                    "payment_move_id:count_distinct",
                    "event_id:count_distinct",
                    "phonecall_id:count_distinct",
                ],
            )
        }
        for statement in self:
            (
                statement.order_count,
                statement.invoice_count,
                statement.payment_count,
                statement.event_count,
                statement.phonecall_count,
            ) = counts.get(statement, (0, 0, 0, 0, 0))

    # ------------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------------

    def init(self):
        res = super().init()
        if not index_exists(self.env.cr, "crm_bonus_statement_one_per_target"):
            self.env.cr.execute(
                """
                CREATE UNIQUE INDEX crm_bonus_statement_one_per_target
                    ON crm_bonus_statement (target_id)
                 WHERE state != 'cancelled'
                """
            )
        return res

    def _check_one_per_target(self, target_ids):
        """Before statements of ``target_ids`` are created or ``self`` reopened,
        refuse the targets that would have two statements not cancelled, with
        their name (the unique index refuses them too, without it)."""
        counts = Counter(target_id for target_id in target_ids if target_id)
        taken = self.env["crm.bonus.target"].browse(
            [target_id for target_id, count in counts.items() if count > 1]
        )
        if counts:
            taken |= self.search(
                [
                    ("target_id", "in", list(counts)),
                    ("state", "!=", "cancelled"),
                    ("id", "not in", self.ids),
                ],
                limit=1,
            ).target_id
        if taken:
            raise ValidationError(
                _(
                    "%(target)s already has a bonus statement: cancel it before "
                    "making a new one.",
                    target=taken[0].name,
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        self._check_one_per_target(
            [
                vals.get("target_id")
                for vals in vals_list
                if vals.get("state", "draft") != "cancelled"
            ]
        )
        statements = super().create(vals_list)
        # A KPI line per KPI of the plan, with its weight and the target's target
        kpi_vals = []
        for statement in statements:
            targets = {
                line.kpi_type: line.target for line in statement.target_id.line_ids
            }
            statement.sudo().amount_on_target = statement.target_id.amount_on_target
            kpi_vals += [
                {
                    "statement_id": statement.id,
                    "plan_kpi_id": kpi.id,
                    "kpi_type": kpi.kpi_type,
                    "weight": kpi.weight,
                    "target": targets.get(kpi.kpi_type, 0.0),
                }
                for kpi in statement.plan_id.kpi_ids
            ]
        # Figures of the computation only: nobody creates or changes them by hand
        self.env["crm.bonus.statement.kpi"].sudo().create(kpi_vals)
        return statements

    def write(self, vals):
        if self._FROZEN & set(vals):
            self._check_open()
        if "target_id" in vals or "state" in vals:
            # statements moved to another target, or cancelled ones reopened
            moved = self.filtered(
                lambda s: vals.get("state", s.state) != "cancelled"
                and ("target_id" in vals or s.state == "cancelled")
            )
            if moved:
                moved._check_one_per_target(
                    [vals.get("target_id") or s.target_id.id for s in moved]
                )
        return super().write(vals)

    def _check_lines_editable(self):
        self._check_open()

    def _check_open(self):
        closed = self.filtered(lambda s: s.state not in OPEN_STATES)
        if closed:
            raise UserError(
                _(
                    "The bonus statement %(name)s is %(state)s: its figures never "
                    "change any more.",
                    name=closed[0].name,
                    state=dict(STATEMENT_STATES)[closed[0].state],
                )
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_approved(self):
        closed = self.filtered(lambda s: s.state not in ("draft", "cancelled"))
        if closed:
            raise UserError(
                _(
                    "Only draft or cancelled bonus statements can be deleted: "
                    "%(name)s is not.",
                    name=closed[0].name,
                )
            )

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def _check_bonus_manager(self):
        """The caller manages bonuses and may change these statements: checked by
        every action that computes or moves them, before anything is done."""
        if not (
            self.env.su or self.env.user.has_group("crm_extended.group_bonus_manager")
        ):
            raise AccessError(
                _(
                    "Only bonus managers compute, submit, approve, reset and cancel "
                    "bonus statements."
                )
            )
        self.check_access("write")

    def _check_state(self, states, action):
        for statement in self:
            if statement.state not in states:
                raise UserError(
                    _(
                        "The bonus statement %(name)s is %(state)s: it cannot be "
                        "%(action)s.",
                        name=statement.name,
                        state=dict(STATEMENT_STATES)[statement.state],
                        action=action,
                    )
                )

    def action_compute(self):
        self._check_bonus_manager()
        self._check_state(OPEN_STATES, _("computed again"))
        self._compute_statements(self)
        return True

    def action_submit(self):
        self._check_bonus_manager()
        self._check_state(("draft",), _("submitted"))
        self._compute_statements(self)
        self.sudo().write({"state": "to_approve"})
        return True

    def action_approve(self):
        self._check_bonus_manager()
        self._check_state(("to_approve",), _("approved"))
        self.sudo().write(
            {
                "state": "approved",
                "date_approved": fields.Datetime.now(),
                "approved_by_id": self.env.user.id,
            }
        )
        return True

    def action_reset_draft(self):
        """Back to draft from to approve (refused) or cancelled."""
        self._check_bonus_manager()
        self._check_state(("to_approve", "cancelled"), _("reset to draft"))
        self.sudo().write({"state": "draft"})
        return True

    def action_cancel(self):
        """Cancel statements: bonus managers cancel draft, to approve and approved
        ones; accountants cancel posted ones, whose accrual entries they reverse.
        Both rights are checked before anything is done."""
        accounted = self.filtered(lambda s: s.state in ACCOUNTED_STATES)
        others = self - accounted
        if accounted:
            accounted._check_bonus_accountant()
        if others:
            others._check_bonus_manager()
            others._check_state(("draft", "to_approve", "approved"), _("cancelled"))
        if accounted:
            accounted._cancel_accounted()
        if others:
            others.sudo().write({"state": "cancelled"})
        return True

    def _action_open_sources(self, model, field, name):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "view_mode": "list,form",
            "domain": [("id", "in", self.line_ids[field].ids)],
            "context": {"create": False},
        }

    def action_open_orders(self):
        return self._action_open_sources("sale.order", "order_id", _("Orders"))

    def action_open_invoices(self):
        return self._action_open_sources("account.move", "invoice_id", _("Invoices"))

    def action_open_payments(self):
        return self._action_open_sources(
            "account.move", "payment_move_id", _("Payments")
        )

    def action_open_events(self):
        return self._action_open_sources(
            "calendar.event", "event_id", _("Visits and Calls")
        )

    def action_open_phonecalls(self):
        return self._action_open_sources("crm.phonecall", "phonecall_id", _("Calls"))

    def action_open_lines(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.crm_bonus_statement_line_action"
        )
        action["domain"] = [("statement_id", "=", self.id)]
        action["context"] = {"search_default_group_kpi": 1}
        return action

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

    _CLOSED_STATES = ("approved", "posted", "paid")

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
                states=OPEN_STATES + self._CLOSED_STATES,
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
                states=OPEN_STATES + self._CLOSED_STATES,
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
            closed=self._CLOSED_STATES,
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
                closed=self._CLOSED_STATES,
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
            closed_states=self._CLOSED_STATES,
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
                closed=self._CLOSED_STATES,
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
