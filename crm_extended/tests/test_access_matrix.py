"""What each role may do with each model of crm_extended, stated once.

Every model crm_extended defines is walked as every role of DESIGN.md through read,
read_group, create, write and unlink, and the outcome is compared with ``ACCESS``. A
model added later without its line here, or without access rights or a company rule,
fails these tests: the next model gets its security reviewed by default.
"""

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CrmExtendedCase

# The roles of DESIGN.md, as the roles of tests/common.py's ROLE_GROUPS
ROLES = {
    "salesperson": "salesperson",
    "agent": "telesales_agent",
    "regional": "regional_manager",
    "manager": "sales_manager",
    "bonus": "bonus_manager",
    "accountant": "accountant",
    "portal": "portal",
}

# r: read and read_group, c: create, w: write, u: unlink. What a role may do on the
# records its record rules let it see; the rules themselves, and the fields and
# actions each role is refused within these rights, are tested per capability.
_BONUS = {
    "salesperson": "r",
    "agent": "r",
    "regional": "r",
    "manager": "r",
    "bonus": "rcwu",
    "accountant": "r",
    "portal": "",
}
_SALES_READ = {
    "salesperson": "r",
    "agent": "r",
    "regional": "r",
    "manager": "r",
    "bonus": "r",
    "accountant": "",
    "portal": "",
}
_SALES_WIZARD = {
    "salesperson": "rcw",
    "agent": "rcw",
    "regional": "rcw",
    "manager": "rcw",
    "bonus": "rcw",
    "accountant": "",
    "portal": "",
}
_SALES_ALL = {
    "salesperson": "rcwu",
    "agent": "rcwu",
    "regional": "rcwu",
    "manager": "rcwu",
    "bonus": "rcwu",
    "accountant": "",
    "portal": "",
}
_MANAGED = {
    "salesperson": "r",
    "agent": "r",
    "regional": "r",
    "manager": "rcwu",
    "bonus": "rcwu",
    "accountant": "",
    "portal": "",
}
ACCESS = {
    "crm.sales.region": {**_MANAGED, "accountant": "r"},
    "crm.visit.schedule": _SALES_ALL,
    "crm.work.plan.report": _SALES_READ,
    "crm.pipeline.health.report": _SALES_READ,
    "crm.customer.interaction": _SALES_READ,
    "crm.plan.week.wizard": _SALES_ALL,
    "crm.plan.week.line": _SALES_ALL,
    "crm.sfa.done.wizard": _SALES_WIZARD,
    "crm.forecast": _MANAGED,
    "crm.forecast.line": {**_MANAGED, "manager": "rw", "bonus": "rw"},
    "crm.forecast.accuracy.report": _SALES_READ,
    # Written by crm.lead only: nobody writes the stage history by hand
    "crm.lead.stage.history": _SALES_READ,
    "crm.sales.cycle.report": _SALES_READ,
    "crm.sales.cycle.stage.report": _SALES_READ,
    "crm.call.outcome": _MANAGED,
    "crm.call.outcome.wizard": {
        **_SALES_WIZARD,
        "salesperson": "",
        "regional": "",
    },
    "crm.call.list": {
        **_MANAGED,
        "salesperson": "",
        "regional": "",
    },
    "crm.call.list.entry": {
        **_MANAGED,
        "salesperson": "",
        "agent": "rw",
        "regional": "",
    },
    "crm.call.stats.report": {
        **_SALES_READ,
        "salesperson": "",
        "regional": "",
    },
    "crm.bonus.plan": _BONUS,
    "crm.bonus.plan.kpi": _BONUS,
    "crm.bonus.plan.level": _BONUS,
    "crm.bonus.target": _BONUS,
    "crm.bonus.target.line": _BONUS,
    "crm.bonus.statement": _BONUS,
    # Computed from the source documents only: nobody writes them by hand
    "crm.bonus.statement.kpi": {**_BONUS, "bonus": "r"},
    "crm.bonus.statement.line": {**_BONUS, "bonus": "r"},
}

# Models without a company: wizards kept by the user who opened them
COMPANY_FREE = {"crm.plan.week.wizard", "crm.plan.week.line", "crm.sfa.done.wizard"}


@tagged("post_install", "-at_install")
class TestAccessMatrix(CrmExtendedCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.role_users = {
            role: cls._user(
                user_role if role == "portal" else f"employee,{user_role}",
                f"crmx_matrix_{role}",
                f"Matrix {role}",
            )
            for role, user_role in ROLES.items()
        }

    @classmethod
    def _crm_extended_models(cls):
        return {
            name
            for name, model in cls.env.registry.items()
            if model._original_module == "crm_extended" and not model._abstract
        }

    def _allowed(self, model, user, operation):
        """Whether ``user`` may do ``operation`` on ``model``, by doing it: a search
        and a read, a read_group, or the rights check of a create, write or
        unlink."""
        records = self.env[model].with_user(user)
        try:
            with self.env.cr.savepoint():
                if operation == "read":
                    records.search_read([], ["display_name"], limit=1)
                elif operation == "read_group":
                    records.read_group([], ["__count"], [])
                else:
                    records.check_access(operation)
        except AccessError:
            return False
        return True

    def test_every_model_is_in_the_table(self):
        """A model crm_extended defines has its line in ACCESS (and no line stays
        for a model that is gone): a new model is reviewed before it ships."""
        models = self._crm_extended_models()
        self.assertFalse(
            models - set(ACCESS), "models of crm_extended missing from ACCESS"
        )
        self.assertFalse(set(ACCESS) - models, "ACCESS names models that do not exist")
        for model, rights in ACCESS.items():
            self.assertEqual(set(rights), set(ROLES), model)

    def test_roles_against_the_table(self):
        operations = {
            "read": "r",
            "read_group": "r",
            "create": "c",
            "write": "w",
            "unlink": "u",
        }
        mismatches = []
        for model in sorted(self._crm_extended_models() & set(ACCESS)):
            for role, user in self.role_users.items():
                expected = ACCESS[model][role]
                for operation, letter in operations.items():
                    allowed = self._allowed(model, user, operation)
                    if allowed != (letter in expected):
                        mismatches.append(
                            f"{model} {role} {operation}: "
                            f"{'allowed' if allowed else 'refused'}, "
                            f"table says {expected or 'nothing'}"
                        )
        self.assertFalse(mismatches, "\n".join(mismatches))

    def test_portal_reads_nothing_of_crm_extended(self):
        portal = self.role_users["portal"]
        for model in sorted(self._crm_extended_models()):
            with self.assertRaises(AccessError, msg=model):
                self.env[model].with_user(portal).search([], limit=1)

    def test_every_model_with_a_company_has_a_company_rule(self):
        """Multi-company: a model with a company has a global record rule on it,
        report models included; the rest are the user's own wizards."""
        Rule = self.env["ir.rule"].sudo()
        missing = []
        for model in sorted(self._crm_extended_models()):
            if "company_id" not in self.env[model]._fields:
                self.assertIn(model, COMPANY_FREE, f"{model} has no company")
                continue
            if self.env[model]._transient:
                continue
            rules = Rule.search([("model_id.model", "=", model), ("global", "=", True)])
            if not any("company_ids" in rule.domain_force for rule in rules):
                missing.append(model)
        self.assertFalse(missing, "models without a multi-company rule")

    def test_other_company_records_are_invisible(self):
        """The company rule at work on every model that has one: a record of
        another company is found by no role but the superuser."""
        other = self.env["res.company"].create({"name": "Matrix Other Co"})
        region = self.env["crm.sales.region"].create(
            {"name": "Elsewhere", "code": "MXE", "company_id": other.id}
        )
        outcome = self.env["crm.call.outcome"].create(
            {"name": "Elsewhere", "code": "mx_elsewhere", "company_id": other.id}
        )
        for role in ("salesperson", "agent", "regional", "manager", "bonus"):
            user = self.role_users[role]
            self.assertFalse(
                self.env["crm.sales.region"]
                .with_user(user)
                .search([("id", "=", region.id)]),
                role,
            )
            self.assertFalse(
                self.env["crm.call.outcome"]
                .with_user(user)
                .search([("id", "=", outcome.id)]),
                role,
            )
