from psycopg2 import errors

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..roles import check_role
from .crm_bonus_statement import ACCOUNTED_STATES


class CrmBonusStatement(models.Model):
    _inherit = "crm.bonus.statement"

    # ------------------------------------------------------------------
    # ACCOUNTING
    # ------------------------------------------------------------------

    @api.depends("move_id.line_ids.reconciled")
    def _compute_is_paid(self):
        for statement in self:
            payable = statement._get_payable_lines()
            statement.is_paid = bool(payable) and all(payable.mapped("reconciled"))

    def _get_payable_lines(self):
        """The reconcilable lines of the accrual entry (its bonus payable line)."""
        self.ensure_one()
        return self.move_id.line_ids.filtered(lambda line: line.account_id.reconcile)

    def _check_bonus_accountant(self):
        """Segregation of duties: accountants post and reverse the accrual entries;
        a bonus manager approves, and posts only if also an accountant."""
        check_role(
            self.env,
            "account.group_account_invoice",
            _(
                "Only accountants post and reverse bonus accruals: approving a "
                "bonus statement does not book it."
            ),
        )
        self.check_access("read")

    def _lock_for_accounting(self):
        """Lock the statements' rows for the rest of the transaction and read their
        state and entry again: a statement posted or cancelled meanwhile by another
        transaction shows as such. A row locked by another transaction (posting it
        right now) is refused at once rather than waited for."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM crm_bonus_statement WHERE id IN %s "
                        "FOR NO KEY UPDATE NOWAIT",
                        tuple(self.ids),
                    )
                )
        except errors.LockNotAvailable:
            raise UserError(
                _(
                    "These bonus statements are being posted or cancelled by someone "
                    "else right now: try again in a moment."
                )
            ) from None
        self.invalidate_recordset(["state", "move_id"])

    def _check_accounting_config(self):
        """Refuse, before anything is written, statements whose plan has no
        journal, expense account or payable account (own or company default)."""
        for statement in self:
            journal, expense, payable = statement.plan_id._get_bonus_accounting()
            missing = [
                label
                for label, record in (
                    (_("bonus journal"), journal),
                    (_("bonus expense account"), expense),
                    (_("bonus payable account"), payable),
                )
                if not record
            ]
            if missing:
                raise UserError(
                    _(
                        "The bonus statement %(name)s cannot be posted: its plan "
                        "%(plan)s has no %(missing)s, and neither has its company. "
                        "Set them on the plan or in the Sales settings (Bonuses).",
                        name=statement.name,
                        plan=statement.plan_id.name,
                        missing=", ".join(missing),
                    )
                )
            if not payable.reconcile:
                raise UserError(
                    _(
                        "The bonus payable account %(account)s must allow "
                        "reconciliation: the bonus is paid when its payable line is "
                        "reconciled.",
                        account=payable.display_name,
                    )
                )

    def _get_analytic_distribution(self):
        """The analytic distribution of the expense line: the analytic account of
        the salesperson's region (the region of their sales team, or the nearest
        parent region with an analytic account), else none."""
        self.ensure_one()
        region = self.user_id.sale_team_id.sales_region_id
        while region and not region.analytic_account_id:
            region = region.parent_id
        if not region or region.company_id != self.company_id:
            return False
        return {str(region.analytic_account_id.id): 100}

    def _prepare_accrual_move_vals(self):
        """Values of the accrual entry: the payout in the plan's currency, its
        counter-value in the company's currency at the period's last day, bonus
        expense (debit) against bonus payable (credit)."""
        self.ensure_one()
        journal, expense, payable = self.plan_id._get_bonus_accounting()
        company = self.company_id
        currency = self.currency_id
        accrual_date = self.date_to
        amount = self.amount_payout
        balance = currency._convert(amount, company.currency_id, company, accrual_date)
        partner = self.user_id.partner_id
        label = _(
            "Bonus %(user)s %(date_from)s - %(date_to)s",
            user=self.user_id.name,
            date_from=self.date_from,
            date_to=self.date_to,
        )
        common = {
            "name": label,
            "partner_id": partner.id,
            "currency_id": currency.id,
        }
        return {
            "move_type": "entry",
            "company_id": company.id,
            "journal_id": journal.id,
            "date": accrual_date,
            "ref": self.name,
            "partner_id": partner.id,
            "line_ids": [
                Command.create(
                    {
                        **common,
                        "account_id": expense.id,
                        "amount_currency": amount,
                        "balance": balance,
                        "analytic_distribution": self._get_analytic_distribution(),
                    }
                ),
                Command.create(
                    {
                        **common,
                        "account_id": payable.id,
                        "amount_currency": -amount,
                        "balance": -balance,
                    }
                ),
            ],
        }

    def action_post(self):
        """Post the accrual entry of approved statements: one entry each, posted,
        in the plan's journal. Idempotent: the rows are locked and statements
        already posted (by an earlier click, a retry or another user) are left as
        they are, so a statement never gets two entries. A payout of 0 books
        nothing: the statement is posted without entry and says so."""
        self._check_bonus_accountant()
        statements = self.exists()
        if not statements:
            return True
        statements._lock_for_accounting()
        todo = statements.filtered(lambda s: s.state == "approved" and not s.move_id)
        (statements - todo).filtered(
            lambda s: s.state not in ACCOUNTED_STATES
        )._check_state(("approved",), _("posted"))
        with_payout = todo.filtered(
            lambda s: not s.currency_id.is_zero(s.amount_payout)
        )
        with_payout._check_accounting_config()
        for statement in todo:
            # The entry is the accountant's own (their accounting rights apply);
            # the statement, which they only read, is marked posted as superuser.
            statement_su = statement.sudo()
            if statement in with_payout:
                move = (
                    self.env["account.move"]
                    .with_company(statement.company_id)
                    .create(statement._prepare_accrual_move_vals())
                )
                move.action_post()
                statement_su.write({"state": "posted", "move_id": move.id})
            else:
                statement_su.write({"state": "posted"})
                statement_su.message_post(
                    body=_("The payout is 0: posted without an accrual entry.")
                )
        return True

    def _cancel_accounted(self):
        """Cancel posted statements (the caller's right checked): their accrual
        entries are reversed on today's date (or the entry's, if later), reversal
        reconciled with the entry. A paid statement, or one whose payable line is
        partly reconciled, cannot be cancelled: its payment comes first.
        Statements cancelled meanwhile by someone else are left as they are."""
        self._lock_for_accounting()
        accounted = self.filtered(lambda s: s.state in ACCOUNTED_STATES)
        for statement in accounted:
            if statement.state == "paid" or any(
                line.matched_debit_ids or line.matched_credit_ids
                for line in statement._get_payable_lines()
            ):
                raise UserError(
                    _(
                        "The bonus statement %(name)s is paid: it cannot be "
                        "cancelled. Unreconcile its payment first.",
                        name=statement.name,
                    )
                )
        moves = accounted.move_id
        accounted.sudo().write({"state": "cancelled"})
        today = fields.Date.context_today(self)
        if moves:
            moves._reverse_moves(
                [
                    {
                        "date": max(today, move.date),
                        "ref": _("Reversal of: %(ref)s", ref=move.ref),
                    }
                    for move in moves
                ],
                cancel=True,
            )

    @api.model
    def _update_paid_state(self, moves):
        """Posted statements whose accrual entry is among ``moves`` become paid
        once their payable line is fully reconciled; paid ones go back to posted
        when it no longer is."""
        if not moves:
            return
        statements_su = (
            self.sudo()
            .with_context(active_test=False)
            .search([("move_id", "in", moves.ids), ("state", "in", ACCOUNTED_STATES)])
        )
        for statement_su in statements_su:
            state = "paid" if statement_su.is_paid else "posted"
            if statement_su.state != state:
                statement_su.state = state
