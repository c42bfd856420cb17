from io import BytesIO

from openpyxl import load_workbook

from odoo.tests import tagged

from .common import CrmExtendedCase

PARTNER_REPORT = "crm_extended.partner_region_xlsx_action"
REGION_REPORT = "crm_extended.sales_region_partner_xlsx_action"
HEADER = (
    "Region",
    "Region Code",
    "Customer",
    "City",
    "State",
    "Country",
    "Salesperson",
    "Phone",
    "Email",
)


@tagged("post_install", "-at_install")
class TestPartnerRegionXlsx(CrmExtendedCase):
    """North (Crmx North) has a sub-region North / West (Crmx West); South covers
    Crmx South; nobody claims Crmx East. Foxtrot belongs to another company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.north, cls.north_west, cls.south = cls._region_tree(
            sub_region=("West", "NW", cls.state_w), code="XLSX"
        )
        cls.bravo = cls._customer(
            "Bravo Corp",
            cls.state_n,
            city="Northtown",
            phone="+999 100",
            email="bravo@example.com",
            user_id=cls.salesman.id,
        )
        cls.alpha = cls._customer("Alpha Corp", cls.state_n, city="Northtown")
        cls.alpha_contact = cls.Partner.create(
            {"name": "Ann Contact", "parent_id": cls.alpha.id, "type": "contact"}
        )
        cls.charlie = cls._customer(
            "Charlie Corp", cls.state_w, user_id=cls.salesman_2.id
        )
        cls.delta = cls._customer("Delta Corp", cls.state_s)
        cls.echo = cls._customer("Echo Corp", cls.state_e)
        cls.other_company = cls.env["res.company"].create({"name": "Xlsx Other Co"})
        cls.foxtrot = cls._customer(
            "Foxtrot Corp",
            cls.state_n,
            company_id=cls.other_company.id,
            sales_region_id=cls.north.id,
        )
        cls.customers = (
            cls.bravo
            | cls.alpha
            | cls.alpha_contact
            | cls.charlie
            | cls.delta
            | cls.echo
            | cls.foxtrot
        )

    # Helpers ------------------------------------------------------------

    def _render(self, report_ref, records, user=None):
        """The report's only sheet (openpyxl)."""
        Report = self.env["ir.actions.report"]
        if user:
            Report = Report.with_user(user)
        content, file_type = Report._render(report_ref, records.ids)
        self.assertEqual(file_type, "xlsx")
        workbook = load_workbook(BytesIO(content))
        self.assertEqual(len(workbook.worksheets), 1)
        return workbook.worksheets[0]

    def _rows(self, report_ref, records, user=None):
        """The rows of the report, as tuples of cell values, header included."""
        sheet = self._render(report_ref, records, user)
        return list(sheet.iter_rows(values_only=True))

    def _row(
        self, region, customer, state, user=None, city=None, phone=None, mail=None
    ):
        return (
            region.complete_name if region else None,
            region.code if region else None,
            customer,
            city,
            state.name,
            "Crmxland",
            user.name if user else None,
            phone,
            mail,
        )

    # Tests --------------------------------------------------------------

    def test_partner_report(self):
        sheet = self._render(PARTNER_REPORT, self.customers)
        self.assertEqual(
            list(sheet.iter_rows(values_only=True)),
            [
                HEADER,
                self._row(self.north, "Alpha Corp", self.state_n, city="Northtown"),
                # a contact takes the address and the region of its company
                self._row(
                    self.north,
                    "Alpha Corp, Ann Contact",
                    self.state_n,
                    city="Northtown",
                ),
                self._row(
                    self.north,
                    "Bravo Corp",
                    self.state_n,
                    self.salesman,
                    "Northtown",
                    "+999 100",
                    "bravo@example.com",
                ),
                self._row(self.north, "Foxtrot Corp", self.state_n),
                self._row(
                    self.north_west, "Charlie Corp", self.state_w, self.salesman_2
                ),
                self._row(self.south, "Delta Corp", self.state_s),
                self._row(None, "Echo Corp", self.state_e),
            ],
        )
        self.assertEqual(self.north_west.complete_name, "North / West")
        # Header bold and frozen, a filter over the whole table
        self.assertTrue(all(cell.font.b for cell in sheet[1]))
        self.assertFalse(sheet["A2"].font.b)
        self.assertEqual(sheet.freeze_panes, "A2")
        self.assertEqual(sheet.auto_filter.ref, "A1:I8")

    def test_partner_report_only_selected(self):
        rows = self._rows(PARTNER_REPORT, self.delta | self.alpha)
        self.assertEqual(
            [row[2] for row in rows], ["Customer", "Alpha Corp", "Delta Corp"]
        )

    def test_region_report_includes_sub_regions(self):
        rows = self._rows(REGION_REPORT, self.north)
        # The region's customers (companies, not their contacts) and those of
        # North / West, sorted by region then customer
        self.assertEqual(
            [row[:3] for row in rows],
            [
                HEADER[:3],
                ("North", "XLSX-N", "Alpha Corp"),
                ("North", "XLSX-N", "Bravo Corp"),
                ("North", "XLSX-N", "Foxtrot Corp"),
                ("North / West", "XLSX-NW", "Charlie Corp"),
            ],
        )
        rows = self._rows(REGION_REPORT, self.north_west | self.south)
        self.assertEqual(
            [row[2] for row in rows], ["Customer", "Charlie Corp", "Delta Corp"]
        )

    def test_region_report_skips_archived_customers(self):
        self.bravo.action_archive()
        rows = self._rows(REGION_REPORT, self.north)
        self.assertNotIn("Bravo Corp", [row[2] for row in rows])

    def test_salesperson_gets_what_rules_allow(self):
        # Foxtrot belongs to a company Sam is not in: neither report shows it to him.
        rows = self._rows(PARTNER_REPORT, self.customers, user=self.salesman)
        self.assertEqual(
            [row[2] for row in rows[1:]],
            [
                "Alpha Corp",
                "Alpha Corp, Ann Contact",
                "Bravo Corp",
                "Charlie Corp",
                "Delta Corp",
                "Echo Corp",
            ],
        )
        rows = self._rows(REGION_REPORT, self.north, user=self.salesman)
        self.assertEqual(
            [row[2] for row in rows[1:]], ["Alpha Corp", "Bravo Corp", "Charlie Corp"]
        )

    def test_query_count_does_not_grow_with_partners(self):
        states = self.state_n | self.state_s | self.state_w | self.state_e
        users = self.salesman | self.salesman_2

        def customers(count, prefix):
            return self.Partner.create(
                [
                    {
                        "name": f"{prefix} {i:03d}",
                        "is_company": True,
                        "state_id": states[i % 4].id,
                        "country_id": self.country.id,
                        "user_id": users[i % 2].id,
                        "city": "Town",
                        "phone": f"+999 {i}",
                        "email": f"c{i}@example.com",
                    }
                    for i in range(count)
                ]
            )

        few, many = customers(10, "Few"), customers(200, "Many")
        Report = self.env["ir.actions.report"].with_user(self.salesman)
        Report._render(PARTNER_REPORT, few.ids)  # warm the registry caches
        counts = []
        for partners in (few, many):
            self.env.invalidate_all()
            start = self.cr.sql_log_count
            # 6 to find the report, 1 search, 6 reads (partners, regions, states,
            # countries, salespeople and their partners)
            with self.assertQueryCount(13):
                rows = self._rows(PARTNER_REPORT, partners, user=self.salesman)
            counts.append(self.cr.sql_log_count - start)
            self.assertEqual(len(rows), len(partners) + 1)
        self.assertEqual(counts[0], counts[1])
