from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class ResPartnerCategory(models.Model):
    _inherit = "res.partner.category"

    contact_interval_days = fields.Integer(
        string="Contact Every (Days)",
        help="Customers with this tag must be contacted at least this often. When a "
        "customer has several tags, the shortest interval wins; 0 leaves it to the "
        "company default.",
    )

    @api.constrains("contact_interval_days")
    def _check_contact_interval_days(self):
        for category in self:
            if category.contact_interval_days < 0:
                raise ValidationError(
                    _(
                        "The contact interval of the tag %(name)s cannot be negative.",
                        name=category.display_name,
                    )
                )
