from odoo import fields, models

FORECAST_CATEGORIES = [
    ("pipeline", "Pipeline"),
    ("best_case", "Best Case"),
    ("commit", "Commit"),
    ("omitted", "Omitted"),
]


class CrmStage(models.Model):
    _inherit = "crm.stage"

    forecast_category = fields.Selection(
        FORECAST_CATEGORIES,
        default="pipeline",
        required=True,
        help="Forecast category an opportunity takes when it enters this stage; the "
        "salesperson can change it on the opportunity.",
    )
