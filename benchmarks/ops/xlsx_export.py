"""XLSX export: "Customers by Sales Region" for N customers, printed from a region.

crm_extended renders the report (``crm_extended.sales_region_partner_xlsx_action``) as a
salesperson, under record rules: one search, then reads in batches, xlsxwriter in
``constant_memory`` mode; its peak Python memory is measured. The SQL floor fetches the
same rows with one hand-written query and writes them with xlsxwriter directly. The ORM
loop is the list export done naively: each partner's fields read by attribute access,
one row written at a time into an in-memory workbook, as Odoo's list export writes it
(timed on a sample, extrapolated).

Each answer is the XLSX file; ``same()`` reads the cells back (outside the timings) and
compares them row by row.
"""

import hashlib
from io import BytesIO

import xlsxwriter
from harness import Operation
from openpyxl import load_workbook

from odoo import Command
from odoo.tools import SQL

from ops.region_reassign import ensure_user, insert_partners

SIZES = {"S": 10_000, "M": 100_000, "L": 100_000}

REPORT = "crm_extended.sales_region_partner_xlsx_action"
LOGIN = "bench_xlsx_salesman"
HEADER = [
    "Region",
    "Region Code",
    "Customer",
    "City",
    "State",
    "Country",
    "Salesperson",
    "Phone",
    "Email",
]
# Sub-regions of the benchmark region, one per state; partners are spread over them.
SUB_REGIONS = ("East", "North", "South", "West")


class XlsxAnswer:
    """The bytes of an XLSX file; its cells are read only when compared."""

    def __init__(self, content):
        self.content = content
        self._rows = None

    @property
    def rows(self):
        if self._rows is None:
            workbook = load_workbook(BytesIO(self.content), read_only=True)
            sheet = workbook.worksheets[0]
            width = len(HEADER)
            self._rows = [
                tuple(row) + (None,) * (width - len(row))
                for row in sheet.iter_rows(values_only=True)
            ]
            workbook.close()
        return self._rows

    def __repr__(self):
        digest = hashlib.sha1(repr(self.rows).encode()).hexdigest()[:12]
        return f"<XlsxAnswer {len(self.rows) - 1} rows sha1:{digest}>"


def write_workbook(rows, options):
    """Write ``rows`` (an iterable of tuples) as the report lays them out."""
    output = BytesIO()
    workbook = xlsxwriter.Workbook(output, options)
    sheet = workbook.add_worksheet("Customers by Region")
    bold = workbook.add_format({"bold": True})
    for col, title in enumerate(HEADER):
        sheet.write_string(0, col, title, bold)
    row_index = 0
    for row_index, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value:
                sheet.write_string(row_index, col, value)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, row_index, len(HEADER) - 1)
    workbook.close()
    return output.getvalue()


class XlsxExport(Operation):
    name = "xlsx export"
    user_login = LOGIN
    measure_memory = True
    orm_sample = 10_000

    def prepare(self, env):
        country = env["res.country"].create({"name": "Xlsxland", "code": "QZ"})
        states = env["res.country.state"].create(
            [
                {
                    "name": f"Xlsx {name}",
                    "code": f"Z{name[0]}",
                    "country_id": country.id,
                }
                for name in SUB_REGIONS
            ]
        )
        region = env["crm.sales.region"].create({"name": "Xlsx Bench", "code": "XLSXB"})
        subregions = env["crm.sales.region"].create(
            [
                {
                    "name": name,
                    "code": f"XLSXB-{name[0]}",
                    "parent_id": region.id,
                    "state_ids": [Command.set(state.ids)],
                }
                for name, state in zip(SUB_REGIONS, states, strict=True)
            ]
        )
        # The report is printed by a salesperson; customers are shared among three.
        salespeople = env["res.users"].concat(
            *(
                ensure_user(env, login, "sales_team.group_sale_salesman")
                for login in (LOGIN, f"{LOGIN}_2", f"{LOGIN}_3")
            )
        )
        partners = insert_partners(env, self.size, states[0], country)
        # Spread the customers over the sub-regions (their state decides, as the
        # add-on would assign them), with an address, a salesperson, a phone, an email.
        env.cr.execute(
            SQL(
                """
                UPDATE res_partner p
                   SET state_id = (%(states)s::int[])[1 + mod(p.id, 4)],
                       sales_region_id = (%(regions)s::int[])[1 + mod(p.id, 4)],
                       user_id = (%(users)s::int[])[1 + mod(p.id, 3)],
                       city = 'City ' || mod(p.id, 97),
                       phone = '+999 ' || p.id,
                       email = 'customer' || p.id || '@example.com'
                 WHERE p.id = ANY(%(ids)s)
                """,
                states=states.ids,
                regions=subregions.ids,
                users=salespeople.ids,
                ids=partners.ids,
            )
        )
        env.invalidate_all()
        return {"region": region, "partners": partners}

    def crm_extended(self, env, ctx):
        content, _file_type = env["ir.actions.report"]._render(
            REPORT, ctx["region"].ids
        )
        return XlsxAnswer(content)

    def sql_floor(self, env, ctx):
        env.cr.execute(
            SQL(
                """
                SELECT r.complete_name, r.code, p.complete_name, p.city, s.name,
                       COALESCE(c.name->>%(lang)s, c.name->>'en_US'), up.name,
                       p.phone, p.email
                  FROM res_partner p
                  JOIN crm_sales_region r ON r.id = p.sales_region_id
                  LEFT JOIN res_country_state s ON s.id = p.state_id
                  LEFT JOIN res_country c ON c.id = p.country_id
                  LEFT JOIN res_users u ON u.id = p.user_id
                  LEFT JOIN res_partner up ON up.id = u.partner_id
                 WHERE r.parent_path LIKE %(path)s
                   AND p.is_company AND p.active
                 ORDER BY r.complete_name, r.id, p.complete_name, p.id
                """,
                lang=env.lang or "en_US",
                path=ctx["region"].parent_path + "%",
            )
        )
        return XlsxAnswer(write_workbook(env.cr.fetchall(), {"constant_memory": True}))

    def orm_loop(self, env, ctx, sample):
        partners = env["res.partner"].search(
            [
                ("sales_region_id", "child_of", ctx["region"].id),
                ("is_company", "=", True),
            ],
            order="sales_region_id, complete_name, id",
            limit=sample,
        )
        rows = (
            (
                partner.sales_region_id.complete_name or None,
                partner.sales_region_id.code or None,
                partner.complete_name,
                partner.city,
                partner.state_id.name,
                partner.country_id.name,
                partner.user_id.name,
                partner.phone,
                partner.email,
            )
            for partner in partners
        )
        # Odoo's list export writes into an in-memory workbook (web's ExportXlsxWriter).
        return XlsxAnswer(write_workbook(rows, {"in_memory": True}))

    def same(self, a, b):
        return len(a.rows) > 1 and a.rows == b.rows

    def same_sample(self, full, partial):
        return len(partial.rows) > 1 and full.rows[: len(partial.rows)] == partial.rows


OPERATIONS = [XlsxExport]
