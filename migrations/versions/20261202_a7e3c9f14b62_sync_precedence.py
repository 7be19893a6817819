"""sync precedence: integrations.priority, members.preferred_integration_id, sync_runs.skipped_other_source

When two integrations sync the same member, the day stays with the integration that wins for that member (the
member's 勤怠の優先連携, else the higher 優先度); the other's runs count the day as skipped_other_source. Every
existing integration starts at priority 0 and no member has a preference: nothing changes until an admin
chooses.

Revision ID: a7e3c9f14b62
Revises: 7d3a9e61c4f8
Create Date: 2026-12-02 01:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e3c9f14b62'
down_revision = '7d3a9e61c4f8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.Integer(), server_default=sa.text('0'), nullable=False))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preferred_integration_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_members_preferred_integration_id_integrations'),
            'integrations',
            ['preferred_integration_id'],
            ['id'],
            ondelete='SET NULL',
        )
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('skipped_other_source', sa.Integer(), server_default=sa.text('0'), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.drop_column('skipped_other_source')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_members_preferred_integration_id_integrations'), type_='foreignkey')
        batch_op.drop_column('preferred_integration_id')
    with op.batch_alter_table('integrations', schema=None) as batch_op:
        batch_op.drop_column('priority')
