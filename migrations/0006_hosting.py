from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_admin')]

    initial = False

    # Only CreateModel, AddIndex and AddField: an AlterField would make SQLite rebuild a table
    # (DROP TABLE cascades into the rows that reference it).
    operations = [
        ops.CreateModel(
            name='WorkerHeartbeat',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=200)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('beat_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'worker_heartbeat', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Last sign of life of each worker process'},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Delivery',
            index=Index(fields=['state', 'created_at']),
        ),
        ops.AddIndex(
            model_name='InboxItem',
            index=Index(fields=['state', 'received_at']),
        ),
        ops.AddField(
            model_name='LocalActor',
            name='deleted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='LocalActor',
            name='disabled',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
