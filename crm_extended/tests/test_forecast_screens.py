from datetime import date

from lxml import etree

from odoo import Command, fields
from odoo.exceptions import UserError, ValidationError
from odoo.osv import expression
from odoo.tests import Form, freeze_time, tagged
from odoo.tools.safe_eval import safe_eval

from ..models.crm_forecast import FORECAST_METHODS
from .common import CrmExtendedCase

LINE_REPORT = "crm_extended.crm_forecast_region_report_action"
FORECAST_REPORT = "crm_extended.crm_forecast_regions_report_action"
ADJUST_VIEW = "crm_extended.crm_forecast_line_view_form_adjust"
NOTE = "The north-west office loses its biggest deal"


@tagged("post_install", "-at_install")
@freeze_time("2025-03-10 12:00:00")
class TestForecastScreens(CrmExtendedCase):
    """March 2025 in a company of its own. Regions: Screens Land > North (managed by
    Rita) > North-West, and Screens Land > South. The North-West Office has Sam
    (10,000 in commit, 4,000 in the pipeline), the South Office Sue (8,000 in
    commit); the Roaming Office, in no region, Rob (nothing). The sales manager
    computed the forecast and adjusted the North-West Office to 6,000 and the South
    region to 9,000: the company forecasts 15,000, its salespeople submitted
    18,000."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_s = cls.env["res.company"].create({"name": "Screens Co"})
        company = cls.company_s
        cls.sam = cls._user("salesperson", "crmx_fs_sam", "Sam Screens", company)
        cls.sue = cls._user("salesperson", "crmx_fs_sue", "Sue Screens", company)
        cls.rob = cls._user("salesperson", "crmx_fs_rob", "Rob Screens", company)
        cls.rita = cls._user(
            "regional_manager", "crmx_fs_rita", "Rita Screens", company
        )
        cls.max = cls._user("sales_manager", "crmx_fs_max", "Max Screens", company)

        def region(name, code, parent=None, **vals):
            return cls._region(
                name,
                code,
                company_id=company.id,
                parent_id=parent and parent.id,
                **vals,
            )

        cls.land = region("Screens Land", "FS-L")
        cls.north = region(
            "North", "FS-N", cls.land, manager_ids=[Command.set(cls.rita.ids)]
        )
        cls.north_west = region("North-West", "FS-NW", cls.north)
        cls.south = region("South", "FS-S", cls.land)
        Team = cls.env["crm.team"].with_company(company)
        cls.office_nw, cls.office_s, cls.office_roaming = Team.create(
            [
                {
                    "name": name,
                    "company_id": company.id,
                    "sales_region_id": area.id,
                    "member_ids": [Command.set(user.ids)],
                }
                for name, area, user in (
                    ("North-West Office", cls.north_west, cls.sam),
                    ("South Office", cls.south, cls.sue),
                    ("Roaming Office", cls.env["crm.sales.region"], cls.rob),
                )
            ]
        )
        stage = cls.env["crm.stage"].create({"name": "FS Open", "sequence": 1})
        cls.env["crm.lead"].with_company(company).create(
            [
                {
                    "name": name,
                    "type": "opportunity",
                    "company_id": company.id,
                    "user_id": user.id,
                    "team_id": user.sale_team_id.id,
                    "stage_id": stage.id,
                    "expected_revenue": revenue,
                    "probability": 50,
                    "forecast_category": category,
                    "date_deadline": date(2025, 3, 20),
                }
                for name, user, revenue, category in (
                    ("Sam's Commit", cls.sam, 10000, "commit"),
                    ("Sam's Maybe", cls.sam, 4000, "pipeline"),
                    ("Sue's Commit", cls.sue, 8000, "commit"),
                )
            ]
        )
        cls.forecast = (
            cls.env["crm.forecast"]
            .with_user(cls.max)
            .with_company(company)
            .create(
                {
                    "company_id": company.id,
                    "period_type": "month",
                    "date_from": "2025-03-01",
                }
            )
        )
        cls.forecast.action_compute()
        lines = cls.forecast.line_ids
        cls.company_line = lines.filtered(lambda line: line.level == "company")
        cls.region_lines = {
            area: lines.filtered(
                lambda line, area=area: line.level == "region"
                and line.sales_region_id == area
            )
            for area in (cls.land, cls.north, cls.north_west, cls.south)
        }
        cls.team_lines = {
            team: lines.filtered(
                lambda line, team=team: line.level == "team" and line.team_id == team
            )
            for team in (cls.office_nw, cls.office_s, cls.office_roaming)
        }
        cls.user_lines = {
            user: lines.filtered(
                lambda line, user=user: line.level == "user" and line.user_id == user
            )
            for user in (cls.sam, cls.sue, cls.rob)
        }
        cls.team_lines[cls.office_nw].with_user(cls.max).write(
            {"amount_adjusted": 6000, "adjustment_note": NOTE}
        )
        cls.region_lines[cls.south].with_user(cls.max).write(
            {"amount_adjusted": 9000, "adjustment_note": "Sue's deal grows"}
        )

    def _as(self, user, records):
        return records.with_user(user).with_company(self.company_s)

    # The rollup the grid shows -----------------------------------------------

    def test_rollup_tree(self):
        """Each line rolls up into the level above it, regions nested: the tree the
        grid expands, with no figure counted twice."""
        regions, teams, users = self.region_lines, self.team_lines, self.user_lines
        parents = {
            regions[self.land]: self.company_line,
            regions[self.north]: regions[self.land],
            regions[self.north_west]: regions[self.north],
            regions[self.south]: regions[self.land],
            teams[self.office_nw]: regions[self.north_west],
            teams[self.office_s]: regions[self.south],
            teams[self.office_roaming]: self.company_line,
            users[self.sam]: teams[self.office_nw],
            users[self.sue]: teams[self.office_s],
            users[self.rob]: teams[self.office_roaming],
        }
        for line, parent in parents.items():
            self.assertEqual(line.parent_id, parent, line.name)
        self.assertFalse(self.company_line.parent_id)
        figures = {
            line.name: (line.amount_submitted, line.amount_forecast)
            for line in self.forecast.line_ids
        }
        self.assertEqual(
            figures,
            {
                "Screens Co": (15000, 15000),
                "Screens Land": (15000, 15000),
                "Screens Land / North": (6000, 6000),
                "Screens Land / North / North-West": (6000, 6000),
                "Screens Land / South": (8000, 9000),
                "North-West Office": (10000, 6000),
                "South Office": (8000, 8000),
                "Roaming Office": (0, 0),
                "Sam Screens": (10000, 10000),
                "Sue Screens": (8000, 8000),
                "Rob Screens": (0, 0),
            },
        )
        self.assertEqual(self.forecast.amount_forecast, 15000)

    def test_form_shows_the_grid(self):
        """The forecast's form shows its lines in the rollup grid; the adjustment
        form the grid opens asks for the amount and the note; the smart button opens
        the plain list of the lines, to export."""
        arch = etree.fromstring(
            self.env["crm.forecast"].get_views([(False, "form")])["views"]["form"][
                "arch"
            ]
        )
        (line_ids,) = arch.xpath("//field[@name='line_ids']")
        self.assertEqual(line_ids.get("widget"), "crm_forecast_grid")
        self.assertFalse(arch.xpath("//field[@name='amount_pipeline']"))
        adjust = etree.fromstring(
            self.env["crm.forecast.line"]
            .with_user(self.max)
            .get_view(self.env.ref(ADJUST_VIEW).id, "form")["arch"]
        )
        (note,) = adjust.xpath("//field[@name='adjustment_note']")
        self.assertEqual(note.get("required"), "1")
        self.assertTrue(adjust.xpath("//field[@name='amount_adjusted']"))
        action = self._as(self.max, self.forecast).action_open_lines()
        self.assertEqual(action["views"][0][1], "list")
        self.assertEqual(action["view_mode"].split(",")[0], "list")
        self.assertEqual(action["domain"], [("forecast_id", "=", self.forecast.id)])
        self.assertEqual(self.forecast.line_count, 3)

    def test_grid_roots_per_role(self):
        """The grid's top rows are the lines whose parent the user may not read:
        the company for the sales manager, North for Rita (North-West is beneath
        it), their own line for a salesperson."""
        expected = {
            self.max: self.company_line,
            self.rita: self.region_lines[self.north],
            self.sam: self.user_lines[self.sam],
        }
        Line = self.env["crm.forecast.line"]
        for user, top in expected.items():
            with self.subTest(user=user.name):
                lines = self._as(user, Line).search(
                    [("forecast_id", "=", self.forecast.id)]
                )
                self.assertEqual(lines.filtered("is_top_level"), top)
                self.assertEqual(
                    self._as(user, Line).search(
                        [
                            ("forecast_id", "=", self.forecast.id),
                            ("is_top_level", "=", True),
                        ]
                    ),
                    top,
                )
                self.assertEqual(
                    self._as(user, Line).search(
                        [
                            ("forecast_id", "=", self.forecast.id),
                            ("is_top_level", "!=", True),
                        ]
                    ),
                    lines - top,
                )

    # One vocabulary ----------------------------------------------------------

    def test_labels_people_say(self):
        labels = {
            "amount_pipeline": "Pipeline",
            "amount_best_case": "Best Case",
            "amount_commit": "Commit",
            "amount_weighted": "Weighted",
            "amount_historical": "Historical",
            "amount_forecast": "Forecast",
            "amount_won_to_date": "Won to Date",
            "amount_actual": "Actual",
            "state": "Status",
        }
        for model in ("crm.forecast", "crm.forecast.line"):
            described = self.env[model].fields_get(list(labels), ["string"])
            for fname, label in labels.items():
                with self.subTest(model=model, field=fname):
                    self.assertEqual(described[fname]["string"], label)
        methods = dict(
            self.env["crm.forecast.accuracy.report"]
            ._fields["method"]
            ._description_selection(self.env)
        )
        self.assertEqual(
            methods,
            {
                "pipeline": "Pipeline",
                "best_case": "Best Case",
                "commit": "Commit",
                "weighted": "Weighted",
                "historical": "Historical",
                "forecast": "Forecast",
            },
        )
        self.assertEqual([key for key, __ in FORECAST_METHODS], list(methods))
        summary = self.env["report.crm_extended.report_crm_forecast_region"]
        self.assertEqual(
            [label for label, __, __ in summary._get_methods()], list(methods.values())
        )

    # Forecast Analysis: the adjusted figure by default ---------------------------

    def _default_domain(self, user):
        """The domain Forecast Analysis opens with for ``user``: the filters the
        action's context selects, as the search view defines them."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "crm_extended.crm_forecast_line_action"
        )
        context = safe_eval(action["context"], {"uid": user.id})
        names = {
            key.removeprefix("search_default_")
            for key, value in context.items()
            if key.startswith("search_default_") and value
        }
        arch = etree.fromstring(
            self._as(user, self.env["crm.forecast.line"]).get_views(
                [(False, "search")]
            )["views"]["search"]["arch"]
        )
        filters = [node for node in arch.iter("filter") if node.get("name") in names]
        self.assertEqual({node.get("name") for node in filters}, names)
        domains = [
            safe_eval(node.get("domain"), {"uid": user.id})
            for node in filters
            if node.get("domain")
        ]
        return expression.AND([safe_eval(action["domain"] or "[]"), *domains])

    def _analysis(self, user, domain):
        """The months of Forecast Analysis for ``user``: {month: forecast}."""
        groups = self._as(user, self.env["crm.forecast.line"])._read_group(
            expression.AND([domain, [("company_id", "=", self.company_s.id)]]),
            ["date_from:month"],
            ["amount_forecast:sum"],
        )
        return {fields.Date.to_date(month): amount for month, amount in groups}

    def test_analysis_default_shows_adjusted_figure(self):
        march = date(2025, 3, 1)
        domain = self._default_domain(self.max)
        self.assertEqual(self._analysis(self.max, domain), {march: 15000})
        self.assertEqual(
            self._analysis(self.max, domain)[march], self.forecast.amount_forecast
        )
        # What the salespeople submitted, without the managers' adjustments
        salespeople = [("level", "=", "user")]
        self.assertEqual(self._analysis(self.max, salespeople), {march: 18000})
        # A regional manager: the top of the regions they manage
        self.assertEqual(
            self._analysis(self.rita, self._default_domain(self.rita)), {march: 6000}
        )
        # A salesperson: their own line
        self.assertEqual(
            self._analysis(self.sam, self._default_domain(self.sam)), {march: 10000}
        )
        # A later adjustment of the company figure shows at once
        self._as(self.max, self.company_line).write(
            {"amount_adjusted": 20000, "adjustment_note": "A good month"}
        )
        self.assertEqual(self._analysis(self.max, domain), {march: 20000})
        pivot = etree.fromstring(
            self.env["crm.forecast.line"].get_views([(False, "pivot")])["views"][
                "pivot"
            ]["arch"]
        )
        self.assertEqual(
            [node.get("name") for node in pivot.xpath("//field[@type='row']")],
            ["level"],
        )

    # Adjustments: never negative, a warning when far ----------------------------

    def _snapshot(self):
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT id, is_adjusted, amount_adjusted, adjustment_note, amount_forecast
              FROM crm_forecast_line WHERE forecast_id = %s ORDER BY id
            """,
            [self.forecast.id],
        )
        return self.env.cr.fetchall()

    def test_negative_adjustment_refused_every_way(self):
        """-50,000 on an office is refused however it is written; before, it was
        stored when written with the adjustment switched off in the same write
        (is_adjusted False: the line form, RPC) and waited there to be applied."""
        line = self._as(self.max, self.team_lines[self.office_s])
        forecast = self._as(self.max, self.forecast)
        before = self._snapshot()
        refused = r"-50,000\.00, is out of bounds"
        writes = {
            "amount only (RPC, list, grid)": {
                "amount_adjusted": -50000,
                "adjustment_note": "x",
            },
            "adjusted (RPC)": {
                "amount_adjusted": -50000,
                "adjustment_note": "x",
                "is_adjusted": True,
            },
            "adjustment off (line form, RPC)": {
                "amount_adjusted": -50000,
                "adjustment_note": "x",
                "is_adjusted": False,
            },
            "adjustment off, no note (RPC)": {
                "amount_adjusted": -50000,
                "is_adjusted": False,
            },
        }
        for case, vals in writes.items():
            with self.subTest(case=case), self.assertRefused(ValidationError, refused):
                line.write(vals)
        with (
            self.subTest(case="forecast form (one2many)"),
            self.assertRefused(ValidationError, refused),
        ):
            forecast.write(
                {
                    "line_ids": [
                        Command.update(
                            line.id, {"amount_adjusted": -50000, "adjustment_note": "x"}
                        )
                    ]
                }
            )
        with (
            self.subTest(case="the grid's adjustment form"),
            self.assertRefused(ValidationError, refused),
        ):
            form = Form(line, view=ADJUST_VIEW)
            form.amount_adjusted = -50000
            form.adjustment_note = "x"
            form.save()
        with (
            self.subTest(case="the line's form"),
            self.assertRefused(ValidationError, refused),
        ):
            form = Form(line)
            form.amount_adjusted = -50000
            form.adjustment_note = "x"
            form.is_adjusted = False
            form.save()
        self.assertEqual(self._snapshot(), before)
        self.assertEqual(self.company_line.amount_forecast, 15000)
        # Zero is a forecast: nothing will be won in the north-west
        self._as(self.max, self.team_lines[self.office_nw]).write(
            {"amount_adjusted": 0, "adjustment_note": "Lost"}
        )
        self.assertEqual(self.company_line.amount_forecast, 9000)

    def test_adjustment_far_from_submitted_warns(self):
        """Sam submitted 10,000: below 5,000 or above 20,000 the manager is warned
        (not refused) before saving."""
        line = self._as(self.max, self.user_lines[self.sam])
        spec = {"amount_adjusted": {}, "amount_submitted": {}, "currency_id": {}}
        for amount, warning in (
            (4999, r"4,999\.00 is less than half the submitted .*10,000\.00"),
            (20001, r"20,001\.00 is more than double the submitted .*10,000\.00"),
            (5000, None),
            (20000, None),
            (12500, None),
        ):
            with self.subTest(amount=amount):
                result = line.onchange(
                    {"amount_adjusted": amount}, ["amount_adjusted"], spec
                )
                if warning:
                    self.assertRegex(result["warning"]["message"], warning)
                    self.assertEqual(
                        result["warning"]["title"],
                        "Adjustment far from the submitted figure",
                    )
                else:
                    self.assertNotIn("warning", result)
        # Warned, and saved as entered
        with self.assertLogs("odoo.tests.form.onchange", "WARNING") as logs:
            form = Form(line, view=ADJUST_VIEW)
            form.amount_adjusted = 2500
            form.adjustment_note = "Only a quarter will close"
            form.save()
        self.assertIn("less than half", logs.output[0])
        self.assertEqual(line.amount_forecast, 2500)
        self.assertTrue(line.is_adjusted)

    # Region summary ----------------------------------------------------------

    def _summary_docs(self, user, report, records):
        Report = self.env["ir.actions.report"].with_user(user)
        report_sudo = Report._get_report(report)
        model = self._as(user, self.env[f"report.{report_sudo.report_name}"])
        return model._get_report_values(records.ids)["docs"]

    def test_region_summary_of_a_forecast(self):
        regions = self.region_lines
        docs = self._summary_docs(self.max, FORECAST_REPORT, self.forecast)
        self.assertEqual(
            docs.mapped("sales_region_id"),
            self.land | self.north | self.north_west | self.south,
            "a region before its sub-regions",
        )
        docs = self._summary_docs(self.rita, FORECAST_REPORT, self.forecast)
        self.assertEqual(docs, regions[self.north] | regions[self.north_west])
        content, __ = (
            self.env["ir.actions.report"]
            .with_user(self.max)
            .with_company(self.company_s)
            ._render_qweb_html(FORECAST_REPORT, self.forecast.ids)
        )
        text = etree.fromstring(content, etree.HTMLParser()).xpath("string()")
        for name in ("Screens Land", "North-West Office", "Sam Screens", NOTE):
            self.assertIn(name, text)
        self.assertLess(text.index("Screens Land"), text.index("North-West Office"))
        with self.assertRaisesRegex(UserError, "March 2025: no sales region you"):
            self._summary_docs(self.sam, FORECAST_REPORT, self.forecast)
        action = self.env.ref(FORECAST_REPORT)
        self.assertEqual(action.binding_model_id.model, "crm.forecast")

    def test_region_summary_of_lines_prints_their_regions(self):
        """Chosen on salespeople and offices, the summary prints their regions, each
        once, instead of refusing them; on the company line, every region."""
        regions, teams, users = self.region_lines, self.team_lines, self.user_lines
        for chosen, expected in (
            (users[self.sam], regions[self.north_west]),
            (teams[self.office_nw] | users[self.sam], regions[self.north_west]),
            (
                users[self.sam] | users[self.sue] | users[self.rob],
                regions[self.north_west] | regions[self.south],
            ),
            (regions[self.north], regions[self.north]),
            (
                self.company_line,
                regions[self.land]
                | regions[self.north]
                | regions[self.north_west]
                | regions[self.south],
            ),
        ):
            with self.subTest(chosen=chosen.mapped("name")):
                docs = self._summary_docs(self.max, LINE_REPORT, chosen)
                self.assertEqual(docs, expected)
        content, __ = (
            self.env["ir.actions.report"]
            .with_user(self.max)
            .with_company(self.company_s)
            ._render_qweb_html(LINE_REPORT, self.forecast.line_ids.ids)
        )
        self.assertIn(NOTE, content.decode())
        # Rita: the regions of the lines she reads
        docs = self._summary_docs(
            self.rita, LINE_REPORT, users[self.sam] | teams[self.office_nw]
        )
        self.assertEqual(docs, regions[self.north_west])

    def test_region_summary_without_region(self):
        """Lines of no region the user may read: a clear refusal naming them."""
        with self.assertRaisesRegex(
            UserError, "none of yours is in a region you may read: Rob Screens"
        ):
            self._summary_docs(self.max, LINE_REPORT, self.user_lines[self.rob])
        with self.assertRaisesRegex(UserError, "Rob Screens and Roaming Office"):
            self._summary_docs(
                self.max,
                LINE_REPORT,
                self.user_lines[self.rob] | self.team_lines[self.office_roaming],
            )
        # Sam reads no region line, not even his own region's
        with self.assertRaisesRegex(UserError, "region you may read: Sam Screens"):
            self._summary_docs(self.sam, LINE_REPORT, self.user_lines[self.sam])

    def test_region_summary_offered_to_who_reads_regions(self):
        groups = {
            "sales_team.group_sale_salesman_all_leads",
            "crm_extended.group_regional_manager",
        }
        for xmlid in (FORECAST_REPORT, LINE_REPORT):
            action = self.env.ref(xmlid)
            self.assertEqual(
                set(action.groups_id.get_external_id().values()), groups, xmlid
            )
