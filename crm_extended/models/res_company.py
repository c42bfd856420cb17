from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    crm_visit_horizon_weeks = fields.Integer(
        string="Visit Planning Horizon",
        default=4,
        help="How many weeks ahead recurring visit schedules keep visits planned.",
    )
    crm_visit_max_per_day = fields.Integer(
        string="Customer Work per Day",
        default=6,
        help="A salesperson with this many visits, calls or meetings on a day has a "
        "full day: recurring visits are not planned on it.",
    )
