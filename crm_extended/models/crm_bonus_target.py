from dateutil.relativedelta import relativedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_date

from ..roles import check_role


class CrmBonusTarget(models.Model):
    _name = "crm.bonus.target"
    _description = "Bonus Target"
    _inherit = ["mail.thread"]
    _order = "date_from desc, user_id, id"
    _check_company_auto = True

    # What the target's statements take from it (related stored fields): fixed
    # once one of them is approved
    _STATEMENT_FIELDS = {"plan_id", "user_id", "date_from"}

    name = fields.Char(compute="_compute_name", store=True)
    plan_id = fields.Many2one(
        "crm.bonus.plan",
        required=True,
        index=True,
        check_company=True,
        ondelete="restrict",
        tracking=True,
    )
    company_id = fields.Many2one(
        related="plan_id.company_id", store=True, index=True, precompute=True
    )
    currency_id = fields.Many2one(related="plan_id.currency_id")
    period_type = fields.Selection(related="plan_id.period_type")
    user_id = fields.Many2one(
        "res.users",
        string="Salesperson",
        required=True,
        index=True,
        tracking=True,
        domain="[('share', '=', False), ('company_ids', 'in', company_id)]",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        check_company=True,
        help="Set on creation without a salesperson, the team's targets and "
        "on-target bonus are split evenly over its members: one target each.",
    )
    date_from = fields.Date(
        string="Period Start",
        required=True,
        help="Any day of the period: it is moved to the period's first day.",
    )
    date_to = fields.Date(
        string="Period End", compute="_compute_date_to", store=True, index=True
    )
    amount_on_target = fields.Monetary(
        string="On-Target Bonus",
        currency_field="currency_id",
        tracking=True,
        help="The bonus paid at 100 % attainment.",
    )
    line_ids = fields.One2many(
        "crm.bonus.target.line", "target_id", string="Targets", copy=True
    )

    _sql_constraints = [
        (
            "amount_on_target_positive",
            "CHECK(amount_on_target >= 0)",
            "The on-target bonus cannot be negative.",
        ),
    ]

    @api.depends("user_id", "date_from", "plan_id")
    def _compute_name(self):
        for target in self:
            target.name = _(
                "%(user)s – %(period)s",
                user=target.user_id.name or "",
                period=format_date(self.env, target.date_from)
                if target.date_from
                else "",
            )

    @api.depends("plan_id.period_type", "date_from")
    def _compute_date_to(self):
        for target in self:
            if target.plan_id and target.date_from:
                target.date_to = target.plan_id._period_bounds(target.date_from)[1]
            else:
                target.date_to = False

    @api.constrains("plan_id", "date_from", "date_to")
    def _check_plan_validity(self):
        for target in self:
            plan = target.plan_id
            if target.date_from < plan.date_start or (
                plan.date_end and target.date_to > plan.date_end
            ):
                raise ValidationError(
                    _(
                        "The period %(start)s – %(end)s of %(target)s is outside the "
                        "validity of the bonus plan %(plan)s.",
                        start=format_date(self.env, target.date_from),
                        end=format_date(self.env, target.date_to),
                        target=target.user_id.name,
                        plan=plan.name,
                    )
                )

    @api.constrains("user_id", "plan_id")
    def _check_user_id(self):
        for target in self:
            user = target.user_id
            if user.share:
                raise ValidationError(
                    _(
                        "%(user)s is a portal user: bonus targets are for "
                        "salespeople, who are internal users.",
                        user=user.name,
                    )
                )
            if target.company_id not in user.company_ids:
                raise ValidationError(
                    _(
                        "%(user)s does not work for %(company)s: a bonus target of "
                        "its plan %(plan)s is for a salesperson of the company.",
                        user=user.name,
                        company=target.company_id.name,
                        plan=target.plan_id.name,
                    )
                )

    @api.constrains("user_id", "date_from", "date_to")
    def _check_overlap(self):
        for target in self:
            overlapping = self.search(
                [
                    ("id", "!=", target.id),
                    ("user_id", "=", target.user_id.id),
                    ("date_from", "<=", target.date_to),
                    ("date_to", ">=", target.date_from),
                ],
                limit=1,
            )
            if overlapping:
                raise ValidationError(
                    _(
                        "%(user)s already has a bonus target from %(start)s to "
                        "%(end)s: targets of one salesperson cannot overlap.",
                        user=target.user_id.name,
                        start=format_date(self.env, overlapping.date_from),
                        end=format_date(self.env, overlapping.date_to),
                    )
                )

    # ------------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = self._split_team_targets(vals_list)
        plans = self.env["crm.bonus.plan"].browse(
            {vals["plan_id"] for vals in vals_list if vals.get("plan_id")}
        )
        for vals in vals_list:
            plan = plans.browse(vals.get("plan_id"))
            if plan and vals.get("date_from"):
                vals["date_from"] = plan._period_bounds(
                    fields.Date.to_date(vals["date_from"])
                )[0]
        targets = super().create(vals_list)
        # A target for every KPI of the plan (0 until set)
        missing = [
            {"target_id": target.id, "kpi_type": kpi_type}
            for target in targets
            for kpi_type in set(target.plan_id.kpi_ids.mapped("kpi_type"))
            - set(target.line_ids.mapped("kpi_type"))
        ]
        if missing:
            self.env["crm.bonus.target.line"].create(missing)
        return targets

    def write(self, vals):
        if self._STATEMENT_FIELDS & set(vals):
            self._check_no_closed_statement()
        if "date_from" in vals or "plan_id" in vals:
            for target in self:
                target_vals = dict(vals)
                plan = self.env["crm.bonus.plan"].browse(
                    vals.get("plan_id", target.plan_id.id)
                )
                date_from = fields.Date.to_date(vals.get("date_from", target.date_from))
                target_vals["date_from"] = plan._period_bounds(date_from)[0]
                super(CrmBonusTarget, target).write(target_vals)
            return True
        return super().write(vals)

    def _check_no_closed_statement(self):
        """An approved, posted or paid statement takes its salesperson, plan and
        period from its target: they no longer change (one query)."""
        closed_su = (
            self.env["crm.bonus.statement"]
            .sudo()
            .search(
                [
                    ("target_id", "in", self.ids),
                    ("state", "in", ("approved", "posted", "paid")),
                ],
                limit=1,
            )
        )
        if closed_su:
            raise UserError(
                _(
                    "The bonus statement of %(target)s is %(state)s: the "
                    "salesperson, plan and period of its target no longer change.",
                    target=closed_su.target_id.name,
                    state=dict(
                        closed_su._fields["state"]._description_selection(self.env)
                    )[closed_su.state],
                )
            )

    @api.model
    def _split_team_targets(self, vals_list):
        """A team target without salesperson: one target per member with the
        team's targets and on-target bonus divided evenly."""
        result = []
        for vals in vals_list:
            if vals.get("user_id") or not vals.get("team_id"):
                result.append(vals)
                continue
            team = self.env["crm.team"].browse(vals["team_id"])
            members = team.member_ids
            if not members:
                raise UserError(
                    _(
                        "The sales team %(team)s has no members to split the target "
                        "over.",
                        team=team.name,
                    )
                )
            share = len(members)
            for member in members:
                member_vals = dict(vals, user_id=member.id)
                if vals.get("amount_on_target"):
                    member_vals["amount_on_target"] = vals["amount_on_target"] / share
                lines = []
                for command in vals.get("line_ids") or []:
                    if command[0] == Command.CREATE:
                        line_vals = dict(command[2])
                        line_vals["target"] = line_vals.get("target", 0.0) / share
                        lines.append(Command.create(line_vals))
                    else:
                        lines.append(command)
                member_vals["line_ids"] = lines
                result.append(member_vals)
        return result

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def _check_bonus_manager(self, model):
        """The caller manages bonuses, reads these targets and may create the
        ``model`` records the action makes: checked before anything is done."""
        check_role(
            self.env,
            "crm_extended.group_bonus_manager",
            _(
                "Only bonus managers generate bonus targets and create bonus "
                "statements."
            ),
        )
        self.check_access("read")
        self.env[model].check_access("create")

    def action_generate_next(self):
        """The next period's targets from these ones (same targets and on-target
        bonus), under the plan that replaces theirs when it has ended. Salespeople
        who already have a target in the next period are left as they are."""
        self._check_bonus_manager("crm.bonus.target")
        vals_list = []
        for target in self:
            date_from = target.date_to + relativedelta(days=1)
            plan = target.plan_id
            while plan.date_end and plan.date_end < date_from and plan.replaced_by_id:
                plan = plan.replaced_by_id
            if plan.date_end and plan.date_end < date_from:
                raise UserError(
                    _(
                        "The bonus plan %(plan)s ends on %(end)s and has no "
                        "replacement for the next period of %(user)s.",
                        plan=plan.name,
                        end=format_date(self.env, plan.date_end),
                        user=target.user_id.name,
                    )
                )
            vals_list.append(
                {
                    "plan_id": plan.id,
                    "user_id": target.user_id.id,
                    "team_id": target.team_id.id,
                    "date_from": date_from,
                    "amount_on_target": target.amount_on_target,
                    "line_ids": [
                        Command.create(
                            {"kpi_type": line.kpi_type, "target": line.target}
                        )
                        for line in target.line_ids
                    ],
                }
            )
        existing = self.search(
            [
                ("user_id", "in", self.user_id.ids),
                ("date_from", "in", [vals["date_from"] for vals in vals_list]),
            ]
        )
        taken = {(target.user_id.id, target.date_from) for target in existing}
        new_targets = self.create(
            [
                vals
                for vals in vals_list
                if (vals["user_id"], vals["date_from"]) not in taken
            ]
        )
        return {
            "type": "ir.actions.act_window",
            "name": _("Next Period's Targets"),
            "res_model": self._name,
            "view_mode": "list,form",
            "domain": [("id", "in", new_targets.ids)],
        }

    def action_create_statements(self):
        """A draft statement for each target that has none (cancelled ones aside),
        computed at once."""
        self._check_bonus_manager("crm.bonus.statement")
        have = self.env["crm.bonus.statement"].search(
            [("target_id", "in", self.ids), ("state", "!=", "cancelled")]
        )
        statements = self.env["crm.bonus.statement"].create(
            [{"target_id": target.id} for target in self - have.target_id]
        )
        statements._compute_statements(statements)
        return {
            "type": "ir.actions.act_window",
            "name": _("Bonus Statements"),
            "res_model": "crm.bonus.statement",
            "view_mode": "list,form",
            "domain": [("id", "in", (statements | have).ids)],
        }
