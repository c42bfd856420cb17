from odoo import models


class XlsxFormats:
    """The cell formats of one workbook, each added once, when first used.

    ``formats(props, **more)`` is the format of those properties (a dict of
    xlsxwriter format properties, and keywords added to them); the common ones have
    a name: ``header``, ``bold``, ``date``, ``integer``, ``money(currency)``.
    """

    HEADER = {"bold": True, "text_wrap": True}
    BOLD = {"bold": True}
    DATE = {"num_format": "yyyy-mm-dd"}
    INTEGER = {"num_format": "0"}

    def __init__(self, workbook, report):
        self._workbook = workbook
        self._report = report
        self._formats = {}

    def __call__(self, props=None, **more):
        props = {**(props or {}), **more}
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self._workbook.add_format(props)
        return self._formats[key]

    @property
    def header(self):
        """A column title: bold, wrapped."""
        return self(self.HEADER)

    @property
    def bold(self):
        return self(self.BOLD)

    @property
    def date(self):
        return self(self.DATE)

    @property
    def integer(self):
        return self(self.INTEGER)

    def money(self, currency, **more):
        """An amount in ``currency``'s format (see ``_money_format``)."""
        return self({"num_format": self._report._money_format(currency)}, **more)


class CrmExtendedXlsx(models.AbstractModel):
    """The base of crm_extended's XLSX reports, inherited in Python::

        class MyReportXlsx(CrmExtendedXlsx):
            _name = "report.crm_extended.my_report_xlsx"
            _inherit = "report.report_xlsx.abstract"

            def generate_xlsx_report(self, workbook, data, objs): ...

    It is no model of the registry (``_register = False``): it adds no model, and
    no method callable over RPC, of its own; each report has its methods.

    The workbook's options: cell values are data, never turned into formulas or
    links; rows are written in order and each row is flushed to a temporary file
    once the next one starts (``constant_memory``): memory stays flat whatever the
    number of rows. A report that writes a row after a later one sets
    ``_constant_memory = False``.

    The cell formats: ``_xlsx_formats(workbook)`` (:class:`XlsxFormats`), amounts in
    their currency's format (``_money_format``).
    """

    _register = False

    _constant_memory = True

    def get_workbook_options(self):
        options = {
            **super().get_workbook_options(),
            "strings_to_formulas": False,
            "strings_to_urls": False,
        }
        if self._constant_memory:
            options["constant_memory"] = True
        return options

    def _xlsx_formats(self, workbook):
        return XlsxFormats(workbook, self)

    def _money_format(self, currency):
        """Excel number format of ``currency``: grouped thousands, the currency's
        decimals, its symbol quoted on the side it goes."""
        decimals = (
            "." + "0" * currency.decimal_places if currency.decimal_places else ""
        )
        symbol = '"{}"'.format(currency.symbol.replace('"', ""))
        number = f"#,##0{decimals}"
        if currency.position == "before":
            return f"{symbol} {number};-{symbol} {number}"
        return f"{number} {symbol};-{number} {symbol}"

    def _write_header(self, sheet, columns, cell_format, row=0):
        """Write the titles of ``columns`` on ``row`` and set the columns' widths;
        each column is a tuple starting with its title and its width."""
        for col, (title, width, *__) in enumerate(columns):
            sheet.set_column(col, col, width)
            sheet.write_string(row, col, title, cell_format)
