from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import freeze_time, tagged

from .common import CrmExtendedCase

T0 = datetime(2026, 3, 2, 10, 0)


def day(n):
    return T0 + timedelta(days=n)


@tagged("post_install", "-at_install")
class TestSalesCycle(CrmExtendedCase):
    """Four stages of our own and five leads walked through them by hand:

    A: Qualify (day 0) → Propose (2) → Negotiate (5) → Won (10)
    B: Qualify (0) → Propose (2), lost on day 5 ("Price")
    C: Qualify (0), lost on day 3 ("Timing")
    D: Qualify (0) → Propose (2), open
    E: Propose (0) → Qualify (2) → Propose (3), open
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.north, __, cls.south = cls._region_tree(manager=cls.regional_manager)
        Team = cls.env["crm.team"]
        cls.team = Team.create({"name": "Cycle North", "sales_region_id": cls.north.id})
        cls.team_s = Team.create(
            {"name": "Cycle South", "sales_region_id": cls.south.id}
        )
        Stage = cls.env["crm.stage"]
        cls.s1, cls.s2, cls.s3, cls.won = Stage.create(
            [
                {"name": "SC Qualify", "sequence": 2001},
                {"name": "SC Propose", "sequence": 2002},
                {"name": "SC Negotiate", "sequence": 2003},
                {"name": "SC Won", "sequence": 2004, "is_won": True},
            ]
        )
        cls.price, cls.timing = cls.env["crm.lost.reason"].create(
            [{"name": "SC Price"}, {"name": "SC Timing"}]
        )
        cls.Lead = cls.env["crm.lead"]
        cls.History = cls.env["crm.lead.stage.history"]
        with freeze_time(day(0)):
            cls.a, cls.b, cls.c, cls.d, cls.e = cls._leads(
                ("A", cls.s1),
                ("B", cls.s1),
                ("C", cls.s1),
                ("D", cls.s1),
                ("E", cls.s2),
            )
        with freeze_time(day(2)):
            (cls.a | cls.b | cls.d).stage_id = cls.s2
            cls.e.stage_id = cls.s1
        with freeze_time(day(3)):
            cls.c.lost_reason_id = cls.timing
            cls.c.action_set_lost()
            cls.e.stage_id = cls.s2
        with freeze_time(day(5)):
            cls.a.stage_id = cls.s3
            cls.b.lost_reason_id = cls.price
            cls.b.action_set_lost()
        with freeze_time(day(10)):
            cls.a.action_set_won()
        cls.leads = cls.a | cls.b | cls.c | cls.d | cls.e

    @classmethod
    def _leads(cls, *specs, team=None, user=None):
        team = team or cls.team
        return cls.Lead.create(
            [
                {
                    "name": f"Cycle {name}",
                    "type": "opportunity",
                    "team_id": team.id,
                    "user_id": (user or cls.salesman).id,
                    "stage_id": stage.id,
                }
                for name, stage in specs
            ]
        )

    def _lines(self, lead):
        return self.History.search([("lead_id", "=", lead.id)], order="date_in, id")

    # History -----------------------------------------------------------

    def test_history_of_one_lead(self):
        lines = self._lines(self.a)
        self.assertEqual(
            [
                (line.stage_from_id, line.stage_to_id, line.date_in, line.date_out)
                for line in lines
            ],
            [
                (self.env["crm.stage"], self.s1, day(0), day(2)),
                (self.s1, self.s2, day(2), day(5)),
                (self.s2, self.s3, day(5), day(10)),
                (self.s3, self.won, day(10), False),
            ],
        )
        self.assertEqual(lines.mapped("days"), [2.0, 3.0, 5.0, 0.0])
        self.assertEqual(set(lines.mapped("outcome")), {"won"})
        self.assertEqual(lines.user_id, self.salesman)
        self.assertEqual(lines.team_id, self.team)
        self.assertEqual(lines.sales_region_id, self.north)
        self.assertFalse(any(lines.mapped("is_backfill")))

    def test_mass_write_is_one_insert(self):
        """One write moving leads of several stages: one statement writes the
        history of all of them, whatever their number."""
        with freeze_time(day(20)):
            leads = self._leads(
                *[(f"M{i}", (self.s1, self.s2)[i % 2]) for i in range(30)]
            )
        statements = []
        execute = self.env.cr.execute

        def spy(query, params=None, log_exceptions=True):
            statements.append(str(query))
            return execute(query, params, log_exceptions)

        with freeze_time(day(21)), patch.object(self.env.cr, "execute", spy):
            leads.write({"stage_id": self.s3.id})
        touching = [sql for sql in statements if "crm_lead_stage_history" in sql]
        self.assertEqual(len(touching), 1, touching)
        self.assertIn("INSERT INTO crm_lead_stage_history", touching[0])
        lines = self.History.search([("lead_id", "in", leads.ids)])
        self.assertEqual(len(lines), 60)
        moved = lines.filtered(lambda line: line.stage_to_id == self.s3)
        self.assertEqual(len(moved), 30)
        self.assertEqual(moved.stage_from_id, self.s1 | self.s2)
        self.assertEqual(set(moved.mapped("date_in")), {day(21)})
        self.assertEqual(set((lines - moved).mapped("days")), {1.0})
        # Writing the same stage again changes nothing
        with freeze_time(day(22)):
            leads.write({"stage_id": self.s3.id, "name": "Same stage"})
        self.assertEqual(self.History.search_count([("lead_id", "in", leads.ids)]), 60)

    def test_outcome_follows_won_lost_and_reopen(self):
        self.assertEqual(set(self._lines(self.b).mapped("outcome")), {"lost"})
        self.assertEqual(set(self._lines(self.d).mapped("outcome")), {"open"})
        # Lost B restored: open again, no new line (its stage did not change)
        self.b.action_unarchive()
        self.assertEqual(set(self._lines(self.b).mapped("outcome")), {"open"})
        self.assertEqual(len(self._lines(self.b)), 2)
        # Won A moved back to Negotiate: reopened, a fifth line
        self.a.stage_id = self.s3
        lines = self._lines(self.a)
        self.assertEqual(len(lines), 5)
        self.assertEqual(set(lines.mapped("outcome")), {"open"})
        # Won from there
        self.a.action_set_won()
        self.assertEqual(set(self._lines(self.a).mapped("outcome")), {"won"})
        # A lead created lost
        lost = self.Lead.create(
            {"name": "Born lost", "stage_id": self.s1.id, "active": False}
        )
        self.assertEqual(self._lines(lost).outcome, "lost")

    def test_backfill(self):
        """Leads without history (as every lead at install) get one line in their
        stage from when they entered it; the others are left alone."""
        self.env.cr.execute(
            "DELETE FROM crm_lead_stage_history WHERE lead_id = ANY(%s)",
            [(self.a | self.c).ids],
        )
        self.env.cr.execute(
            "UPDATE crm_lead SET date_last_stage_update = %s WHERE id = %s",
            [day(1), self.c.id],
        )
        self.env.invalidate_all()
        before = self.History.search_count([])
        self.History._backfill()
        self.assertEqual(self.History.search_count([]), before + 2)
        a, c = self._lines(self.a), self._lines(self.c)
        self.assertEqual(
            (a.stage_to_id, a.outcome, a.is_backfill, a.stage_from_id, a.date_out),
            (self.won, "won", True, self.env["crm.stage"], False),
        )
        self.assertEqual(
            (c.stage_to_id, c.outcome, c.is_backfill, c.date_in),
            (self.s1, "lost", True, day(1)),
        )
        self.History._backfill()
        self.assertEqual(self.History.search_count([]), before + 2)

    # Reports -----------------------------------------------------------

    def test_funnel_by_hand(self):
        Report = self.env["crm.sales.cycle.report"]
        domain = [("lead_id", "in", self.leads.ids)]
        groups = Report._read_group(
            domain,
            ["stage_id"],
            [
                "lead_count:sum",
                "conversion:avg",
                "win_rate:avg",
                "days:avg",
                "cycle_days:avg",
            ],
        )
        got = {
            stage: tuple(round(value or 0, 2) for value in values)
            for stage, *values in groups
        }
        self.assertEqual(
            got,
            {
                # reached; went further; won of closed; days; cycle
                self.s1: (5, 80.0, 33.33, 1.75, 0),
                self.s2: (4, 25.0, 50.0, 2.5, 0),
                self.s3: (1, 100.0, 100.0, 5.0, 0),
                self.won: (1, 0.0, 100.0, 0, 10.0),
            },
        )
        # Lost reasons by stage: where each lead was lost
        lost = Report._read_group(
            [*domain, ("outcome", "=", "lost"), ("is_last_stage", "=", True)],
            ["stage_id", "lost_reason_id"],
            ["lead_count:sum"],
        )
        self.assertEqual(lost, [(self.s1, self.timing, 1), (self.s2, self.price, 1)])

    def test_days_per_stage_median(self):
        rows = self.env["crm.sales.cycle.stage.report"].search(
            [("team_id", "=", self.team.id)]
        )
        got = {
            row.stage_id: (
                row.date_month,
                row.stay_count,
                row.days_average,
                row.days_median,
            )
            for row in rows
        }
        march = T0.date().replace(day=1)
        self.assertEqual(
            got,
            {
                # Qualify: A 2, B 2, D 2, E 1 — Propose: A 3, E 2 (its first stay)
                self.s1: (march, 4, 1.75, 2.0),
                self.s2: (march, 2, 2.5, 2.5),
                self.s3: (march, 1, 5.0, 5.0),
            },
        )

    # Security ----------------------------------------------------------

    def test_who_sees_what(self):
        with freeze_time(day(30)):
            (other,) = self._leads(("Other", self.s1), user=self.salesman_2)
            (free,) = self._leads(("Free", self.s1))
            free.user_id = False
            (south,) = self._leads(
                ("South", self.s1), team=self.team_s, user=self.salesman_2
            )
        with freeze_time(day(31)):
            south.stage_id = self.s2  # a stay that ended, for Days per Stage
        mine = self.leads | free
        for model in ("crm.lead.stage.history", "crm.sales.cycle.report"):
            Model = self.env[model]
            scope = [("lead_id", "in", (mine | other | south).ids)]
            seen = Model.with_user(self.salesman).search(scope).lead_id
            self.assertEqual(seen, mine, model)
            seen = Model.with_user(self.regional_manager).search(scope).lead_id
            self.assertEqual(seen, self.leads | free | other, model)
            seen = Model.with_user(self.sales_manager).search(scope).lead_id
            self.assertEqual(seen, mine | other | south, model)
            with self.assertRaises(AccessError):
                Model.with_user(self.sales_manager).search(scope, limit=1).write(
                    {"days": 1}
                )
        # Days per stage: the salesperson's teams, the regional manager's regions
        stage_report = self.env["crm.sales.cycle.stage.report"]
        self.team_s.member_ids = [Command.link(self.salesman_2.id)]
        teams = stage_report.with_user(self.salesman_2).search([]).team_id
        self.assertEqual(teams, self.team_s)
        teams = (
            stage_report.with_user(self.regional_manager)
            .search([("team_id", "in", (self.team | self.team_s).ids)])
            .team_id
        )
        self.assertEqual(teams, self.team)

    def test_other_company_is_invisible(self):
        other_co = self.env["res.company"].create({"name": "Cycle Other Co"})
        lead = self.Lead.with_company(other_co).create(
            {"name": "Elsewhere", "company_id": other_co.id, "stage_id": self.s1.id}
        )
        line = self._lines(lead)
        self.assertEqual(line.company_id, other_co)
        self.assertFalse(
            self.History.with_user(self.sales_manager).search([("id", "=", line.id)])
        )
