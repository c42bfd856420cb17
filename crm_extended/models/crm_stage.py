from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

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

    # Pipeline monitoring
    stale_after_days = fields.Integer(
        string="Stale After (Days)",
        default=0,
        help="An open opportunity in this stage is stale when nothing happened on it "
        "for longer than this many days: no call, meeting, message or activity done, "
        "nor a move to this stage. 0: opportunities of this stage never go stale.",
    )

    @api.constrains("stale_after_days")
    def _check_stale_after_days(self):
        for stage in self:
            if stage.stale_after_days < 0:
                raise ValidationError(
                    _(
                        "The stale delay of the stage %(name)s cannot be negative "
                        "(0: never stale).",
                        name=stage.display_name,
                    )
                )
