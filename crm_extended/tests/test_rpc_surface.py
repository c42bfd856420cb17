"""Every public method crm_extended adds is an RPC endpoint: each is listed here with
who may call it and what protects it, so that a method added later without that review
fails this test. What each line says is proven by the hardening tests of its capability
(test_telesales_hardening, test_sales_hardening, test_bonus_hardening,
test_forecast_hardening)."""

import inspect

from odoo import fields
from odoo.tests import TransactionCase, tagged

# Methods the ORM defines and crm_extended overrides: protected by the access rights,
# the record rules and crm.protected.fields.mixin, tested with the access table.
ORM_METHODS = {
    "create",
    "write",
    "unlink",
    "copy",
    "default_get",
    "init",
    "read",
    "search",
    "name_search",
    "web_read",
    "onchange",
}

OPENS = "returns a window action; reads happen under the caller's rules"
XLSX = "report_xlsx rendering: reads its records under the caller's rules"

PUBLIC_METHODS = {
    "calendar.event": {
        "action_open_sfa_done_wizard": OPENS,
        "action_sfa_cancel": "write access on the work (rules)",
        "action_sfa_done": "write access checked, then done written as superuser",
        "action_sfa_replan": "write access on the work (rules)",
    },
    "res.partner": {
        "action_open_sfa_events": OPENS,
        "action_view_interactions": OPENS,
    },
    "crm.team": {
        "action_open_bonus_estimate": OPENS,
        "action_open_bonus_estimate_team": OPENS,
        "action_open_forecast_accuracy": OPENS,
        "action_open_overdue_contacts": OPENS,
        "action_open_week_work": OPENS,
    },
    "crm.sales.region": {
        "action_open_leads": OPENS,
        "action_open_partners": OPENS,
        "action_open_teams": OPENS,
    },
    "crm.lead": {
        "message_post": "mail.thread's own checks (the caller's access to the "
        "opportunity); crm_extended only recomputes its last activity",
    },
    "crm.visit.schedule": {
        "action_open_events": OPENS,
        "action_plan_now": "reads the schedule under the caller's rules, creates "
        "the visits as the caller",
    },
    "crm.plan.week.wizard": {
        "action_confirm": "own week, or managers of the salesperson",
        "action_propose": "own week, or managers of the salesperson",
    },
    "crm.sfa.done.wizard": {"action_done": "calendar.event.action_sfa_done"},
    "crm.forecast": {
        "action_close": "sales managers, write access first",
        "action_compute": "sales managers, write access first",
        "action_freeze": "sales managers, write access first",
        "action_open_lines": OPENS,
        "action_refresh_won": "sales managers, write access first",
    },
    "crm.forecast.line": {
        "action_clear_adjustment": "sales managers, write access first",
    },
    "crm.call.list": {
        "action_build": "sales managers, write access before the SQL",
        "action_distribute": "sales managers, write access before the SQL",
        "action_done": "write access (sales managers)",
        "action_open_entries": "read access",
        "action_pause": "write access (sales managers)",
        "action_start": "write access (sales managers)",
    },
    "crm.call.list.entry": {
        "action_call": "telesales agents on their entry, sales managers; "
        "telephony URLs only",
        "action_confirm_order": "telesales agents on their entry, sales managers",
        "action_log_outcome": "telesales agents on their entry, sales managers; "
        "one outcome per call, under a row lock",
        "action_next_call": "telesales agents (own queue), sales managers",
        "action_open_opportunities": f"read access first; {OPENS}",
        "action_open_outcome_wizard": "telesales agents on their entry",
        "action_release": "the entry's agent, sales managers",
        "action_start_call": "telesales agents on their entry, sales managers",
        "action_take_order": "telesales agents on their entry, sales managers",
        "reserve_next": "telesales agents (own queue), sales managers (any)",
    },
    "crm.call.outcome.wizard": {
        "action_log": "crm.call.list.entry.action_log_outcome",
    },
    "crm.bonus.plan": {
        "action_approve": "bonus managers, write access first",
        "action_open_replace": "bonus managers",
        "action_replace": "bonus managers, write access first; a date or a clear error",
    },
    "crm.bonus.target": {
        "action_create_statements": "bonus managers, write access first",
        "action_generate_next": "bonus managers, write access first",
    },
    "crm.bonus.statement": {
        "action_approve": "bonus managers, write access first",
        "action_cancel": "bonus managers; posted ones with an accounting group",
        "action_compute": "bonus managers, write access before the SQL",
        "action_open_events": OPENS,
        "action_open_invoices": OPENS,
        "action_open_lines": OPENS,
        "action_open_orders": OPENS,
        "action_open_payments": OPENS,
        "action_open_phonecalls": OPENS,
        "action_post": "accountants only, under a row lock",
        "action_reset_draft": "bonus managers, write access first",
        "action_submit": "bonus managers, write access first",
    },
    "crm.bonus.statement.line": {"action_open_source": OPENS},
    "crm.customer.interaction": {
        "action_open_source": f"checks read access on the source; {OPENS}"
    },
}
for _report in (
    "crm_bonus_payroll_xlsx",
    "crm_call_list_stats_xlsx",
    "crm_forecast_xlsx",
    "partner_region_xlsx",
    "sales_region_partner_xlsx",
):
    PUBLIC_METHODS[f"report.crm_extended.{_report}"] = {
        "generate_xlsx_report": XLSX,
        "get_workbook_options": XLSX,
    }


@tagged("post_install", "-at_install")
class TestRpcSurface(TransactionCase):
    def _public_methods(self):
        found = {}
        for name, model in self.env.registry.items():
            for cls in model.mro():
                if not cls.__module__.startswith("odoo.addons.crm_extended."):
                    continue
                for attr, value in vars(cls).items():
                    if attr.startswith("_") or attr in ORM_METHODS:
                        continue
                    if isinstance(value, fields.Field) or not (
                        inspect.isfunction(value)
                        or isinstance(value, classmethod | staticmethod)
                    ):
                        continue
                    found.setdefault(name, set()).add(attr)
        return found

    def test_every_public_method_is_reviewed(self):
        found = self._public_methods()
        missing = sorted(
            f"{model}.{method}"
            for model, methods in found.items()
            for method in methods - set(PUBLIC_METHODS.get(model, ()))
        )
        self.assertFalse(
            missing,
            "public methods (RPC endpoints) without a line in PUBLIC_METHODS: say "
            "who may call each and what protects it",
        )
        gone = sorted(
            f"{model}.{method}"
            for model, methods in PUBLIC_METHODS.items()
            for method in set(methods) - found.get(model, set())
        )
        self.assertFalse(gone, "PUBLIC_METHODS names methods that do not exist")
