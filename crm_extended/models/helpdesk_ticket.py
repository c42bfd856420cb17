from odoo import models


class HelpdeskTicket(models.Model):
    _name = "helpdesk.ticket"
    _inherit = ["helpdesk.ticket", "crm.sales.region.mixin"]

    # A ticket's team is a helpdesk team, not a sales office: the customer decides.
    _sales_region_team_field = None
