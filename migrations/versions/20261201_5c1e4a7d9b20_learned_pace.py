"""learned pace: integrations.learned_rate, sync_runs.throttled and achieved_rate

The Jobcan settings requests_per_second and concurrency change meaning: the first is now a ceiling (blank:
none) and the second the most parallel requests. A stored value equal to the old default (5 and 2) was never
chosen, so it is dropped: those integrations find their pace by themselves.

Revision ID: 5c1e4a7d9b20
Revises: cbd219b9dd9b
Create Date: 2026-12-01 23:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c1e4a7d9b20'
down_revision = 'cbd219b9dd9b'
branch_labels = None
depends_on = None

OLD_DEFAULTS = {"requests_per_second": 5.0, "concurrency": 2}


def upgrade():
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('learned_rate', sa.Float(), nullable=True))
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('throttled', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('achieved_rate', sa.Float(), nullable=True))

    integrations = sa.table(
        'integrations', sa.column('id', sa.Integer), sa.column('provider', sa.String), sa.column('settings', sa.JSON)
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(integrations.c.id, integrations.c.settings).where(integrations.c.provider == 'jobcan'))
    for row_id, settings in rows.all():
        kept = {
            key: value
            for key, value in (settings or {}).items()
            if key not in OLD_DEFAULTS or value in (None, "") or float(value) != OLD_DEFAULTS[key]
        }
        if kept != (settings or {}):
            connection.execute(integrations.update().where(integrations.c.id == row_id).values(settings=kept))


def downgrade():
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_column('achieved_rate')
        batch_op.drop_column('throttled')
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.drop_column('learned_rate')
