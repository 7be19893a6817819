"""attendance payroll minutes: attendance_days.overtime_minutes, late_night_minutes, late_minutes,
early_leave_minutes

The provider's own payroll totals (残業, 深夜, 遅刻, 早退) in minutes. NULL when the provider does not say, so
days stored before this revision read as "not said", never as 0.

Revision ID: 7d3a9e61c4f8
Revises: 5c1e4a7d9b20
Create Date: 2026-12-02 01:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d3a9e61c4f8'
down_revision = '5c1e4a7d9b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attendance_days', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overtime_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('late_night_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('late_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('early_leave_minutes', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('attendance_days', schema=None) as batch_op:
        batch_op.drop_column('early_leave_minutes')
        batch_op.drop_column('late_minutes')
        batch_op.drop_column('late_night_minutes')
        batch_op.drop_column('overtime_minutes')
