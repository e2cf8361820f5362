"""Credit reporting: runs, records, files, notices and corrections (reporting.models)."""

import debt_collections.evidence
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('loans', '0009_write_off'),
        ('collections', '0006_legal_and_write_off'),
        ('portal', '0006_schedules'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ReportFile',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField(verbose_name='month')),
                ('institution_code', models.CharField(max_length=40, verbose_name='institution code')),
                ('csv_file', models.FileField(blank=True, max_length=200, storage=debt_collections.evidence.PrivateMediaStorage(), upload_to='', verbose_name='CSV file')),
                ('json_file', models.FileField(blank=True, max_length=200, storage=debt_collections.evidence.PrivateMediaStorage(), upload_to='', verbose_name='JSON file')),
                ('csv_sha256', models.CharField(blank=True, max_length=64, verbose_name='CSV SHA-256')),
                ('json_sha256', models.CharField(blank=True, max_length=64, verbose_name='JSON SHA-256')),
                ('body_sha256_csv', models.CharField(blank=True, max_length=64, verbose_name='CSV body SHA-256 (in its header)')),
                ('body_sha256_json', models.CharField(blank=True, max_length=64, verbose_name='JSON records SHA-256 (in its header)')),
                ('record_count', models.PositiveIntegerField(default=0, verbose_name='records')),
                ('late_count', models.PositiveIntegerField(default=0, verbose_name='records of earlier months (held back before)')),
                ('correction_count', models.PositiveIntegerField(default=0, verbose_name='corrections')),
                ('status', models.CharField(choices=[('generated', 'Generated'), ('submitted', 'Submitted to the bureau'), ('accepted', 'Accepted by the bureau'), ('rejected', 'Rejected by the bureau')], default='generated', max_length=10, verbose_name='submission status')),
                ('generated_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='generated at')),
                ('status_changed_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='status changed at')),
                ('bureau_note', models.CharField(blank=True, max_length=500, verbose_name="bureau's reference or answer")),
            ],
            options={
                'verbose_name': 'credit report file',
                'verbose_name_plural': 'credit report files',
                'ordering': ['-month', '-id'],
                'permissions': [('submit_reportfile', "Can record a report file's submission and the bureau's answer")],
            },
        ),
        migrations.CreateModel(
            name='CreditNotice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('notified_on', models.DateField(verbose_name='notified on')),
                ('message', models.TextField(verbose_name='message')),
                ('document_reference', models.CharField(blank=True, max_length=100, verbose_name='notice document')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('borrower', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='credit_notice', to='loans.borrower', verbose_name='borrower')),
                ('loan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loans.loan', verbose_name='loan')),
                ('sms', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='portal.smsmessage', verbose_name='text message')),
            ],
            options={
                'verbose_name': 'credit reporting notice',
                'verbose_name_plural': 'credit reporting notices',
                'ordering': ['-notified_on', '-id'],
            },
        ),
        migrations.CreateModel(
            name='CreditRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField(verbose_name='month')),
                ('status', models.CharField(choices=[('N', 'N · on time'), ('1', '1 · 1–30 days overdue'), ('2', '2 · 31–60 days overdue'), ('3', '3 · 61–90 days overdue'), ('4', '4 · 91–120 days overdue'), ('5', '5 · 121–150 days overdue'), ('6', '6 · 151–180 days overdue'), ('7', '7 · more than 180 days overdue'), ('C', 'C · settled (repaid in full)'), ('G', 'G · ended other than by full repayment'), ('B', 'B · bad debt (written off)')], max_length=1, verbose_name='status')),
                ('days_past_due', models.PositiveIntegerField(verbose_name='days past due at month end')),
                ('worst_days_past_due', models.PositiveIntegerField(verbose_name='most days past due in the month')),
                ('overdue_installments', models.PositiveSmallIntegerField(verbose_name='bills overdue at month end')),
                ('balance', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='balance (principal + overdue interest, penalty, fees)')),
                ('principal_balance', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='principal balance')),
                ('overdue_amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='overdue amount')),
                ('overdue_principal', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='overdue principal')),
                ('scheduled_amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='due in the month')),
                ('paid_amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='paid in the month')),
                ('written_off_amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='written off')),
                ('month_end_state', models.CharField(choices=[('current', 'Current'), ('reminder', 'Reminder (1–29 days)'), ('collections', 'Collections (30+ days)'), ('non_performing', 'Non-performing (90+ days)'), ('write_off_candidate', 'Write-off candidate (180+ days)'), ('closed', 'Closed (settled or ended)'), ('written_off', 'Written off (bad debt)')], max_length=24, verbose_name='state at month end')),
                ('previous_state', models.CharField(blank=True, choices=[('current', 'Current'), ('reminder', 'Reminder (1–29 days)'), ('collections', 'Collections (30+ days)'), ('non_performing', 'Non-performing (90+ days)'), ('write_off_candidate', 'Write-off candidate (180+ days)'), ('closed', 'Closed (settled or ended)'), ('written_off', 'Written off (bad debt)')], max_length=24, verbose_name='state at the previous month end')),
                ('segment', models.CharField(choices=[('individual', 'Individual'), ('small_business', 'Small-business owner')], max_length=20, verbose_name='segment')),
                ('held_back_until', models.DateField(blank=True, null=True, verbose_name='held back until')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('loan', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='credit_records', to='loans.loan', verbose_name='loan')),
                ('product', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='loans.product', verbose_name='product')),
                ('file', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='records', to='reporting.reportfile', verbose_name='reported in')),
            ],
            options={
                'verbose_name': 'credit record',
                'verbose_name_plural': 'credit records',
                'ordering': ['-month', 'loan_id'],
                'permissions': [('correct_record', 'Can correct a reported credit record'), ('view_dashboard', 'Can see the monitoring dashboard')],
            },
        ),
        migrations.CreateModel(
            name='HeldBackRecord',
            fields=[
            ],
            options={
                'verbose_name': 'record held back (notice period)',
                'verbose_name_plural': 'records held back (notice period)',
                'proxy': True,
                'default_permissions': ('view',),
                'indexes': [],
                'constraints': [],
            },
            bases=('reporting.creditrecord',),
        ),
        migrations.CreateModel(
            name='ReportingRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField(help_text='The first day of the month reported.', unique=True, verbose_name='month')),
                ('reporting_date', models.DateField(verbose_name='reporting date')),
                ('status', models.CharField(choices=[('running', 'Running'), ('completed', 'Completed'), ('failed', 'Failed (resumed by the next start)')], default='running', max_length=10, verbose_name='status')),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='started at')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished at')),
                ('heartbeat_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='last sign of life')),
                ('attempts', models.PositiveSmallIntegerField(default=1, verbose_name='attempts')),
                ('counts', models.JSONField(default=dict, verbose_name='counts per step')),
                ('steps_done', models.JSONField(default=list, verbose_name='steps done')),
                ('errors', models.TextField(blank=True, verbose_name='errors')),
            ],
            options={
                'verbose_name': 'credit reporting run',
                'verbose_name_plural': 'credit reporting runs',
                'ordering': ['-month'],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['running', 'completed', 'failed'])), name='reporting_run_status_valid')],
            },
        ),
        migrations.AddField(
            model_name='reportfile',
            name='run',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='file', to='reporting.reportingrun', verbose_name='run'),
        ),
        migrations.AddField(
            model_name='creditrecord',
            name='run',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='records', to='reporting.reportingrun', verbose_name='run'),
        ),
        migrations.CreateModel(
            name='MonitoringDashboard',
            fields=[
            ],
            options={
                'verbose_name': 'monitoring dashboard',
                'verbose_name_plural': 'monitoring dashboard',
                'proxy': True,
                'default_permissions': (),
                'indexes': [],
                'constraints': [],
            },
            bases=('reporting.reportingrun',),
        ),
        migrations.CreateModel(
            name='CreditCorrection',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('N', 'N · on time'), ('1', '1 · 1–30 days overdue'), ('2', '2 · 31–60 days overdue'), ('3', '3 · 61–90 days overdue'), ('4', '4 · 91–120 days overdue'), ('5', '5 · 121–150 days overdue'), ('6', '6 · 151–180 days overdue'), ('7', '7 · more than 180 days overdue'), ('C', 'C · settled (repaid in full)'), ('G', 'G · ended other than by full repayment'), ('B', 'B · bad debt (written off)')], max_length=1, verbose_name='corrected status')),
                ('balance', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='corrected balance')),
                ('principal_balance', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='corrected principal balance')),
                ('overdue_amount', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='corrected overdue amount')),
                ('overdue_principal', models.DecimalField(decimal_places=2, default=Decimal('0.00'), max_digits=14, verbose_name='corrected overdue principal')),
                ('previous', models.JSONField(default=dict, verbose_name='values before')),
                ('reason', models.TextField(max_length=1000, verbose_name='reason')),
                ('corrected_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='corrected at')),
                ('corrected_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='corrected by')),
                ('record', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='corrections', to='reporting.creditrecord', verbose_name='record')),
                ('file', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='corrections', to='reporting.reportfile', verbose_name='reported in')),
            ],
            options={
                'verbose_name': 'credit record correction',
                'verbose_name_plural': 'credit record corrections',
                'ordering': ['-corrected_at', '-id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['N', '1', '2', '3', '4', '5', '6', '7', 'C', 'G', 'B'])), name='credit_correction_status_valid'), models.CheckConstraint(condition=models.Q(('balance__gte', 0), ('overdue_amount__gte', 0), ('overdue_principal__gte', 0), ('principal_balance__gte', 0)), name='credit_correction_amounts_gte_0')],
            },
        ),
        migrations.CreateModel(
            name='ReportFileTransition',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('from_status', models.CharField(choices=[('generated', 'Generated'), ('submitted', 'Submitted to the bureau'), ('accepted', 'Accepted by the bureau'), ('rejected', 'Rejected by the bureau')], max_length=10, verbose_name='from')),
                ('to_status', models.CharField(choices=[('generated', 'Generated'), ('submitted', 'Submitted to the bureau'), ('accepted', 'Accepted by the bureau'), ('rejected', 'Rejected by the bureau')], max_length=10, verbose_name='to')),
                ('note', models.CharField(blank=True, max_length=500, verbose_name='note')),
                ('at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='at')),
                ('actor', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by')),
                ('file', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='transitions', to='reporting.reportfile', verbose_name='file')),
            ],
            options={
                'verbose_name': 'report file status change',
                'verbose_name_plural': 'report file status changes',
                'ordering': ['file_id', 'id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('from_status__in', ['generated', 'submitted', 'accepted', 'rejected'])), name='report_file_transition_from_valid'), models.CheckConstraint(condition=models.Q(('to_status__in', ['generated', 'submitted', 'accepted', 'rejected'])), name='report_file_transition_to_valid'), models.CheckConstraint(condition=models.Q(('from_status', models.F('to_status')), _negated=True), name='report_file_transition_moves')],
            },
        ),
        migrations.AddConstraint(
            model_name='reportfile',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['generated', 'submitted', 'accepted', 'rejected'])), name='report_file_status_valid'),
        ),
        migrations.AddIndex(
            model_name='creditrecord',
            index=models.Index(fields=['month', 'previous_state', 'month_end_state'], name='credit_record_roll_idx'),
        ),
        migrations.AddIndex(
            model_name='creditrecord',
            index=models.Index(condition=models.Q(('file__isnull', True)), fields=['month'], name='credit_record_unreported_idx'),
        ),
        migrations.AddConstraint(
            model_name='creditrecord',
            constraint=models.UniqueConstraint(fields=('loan', 'month'), name='credit_record_one_per_loan_and_month'),
        ),
        migrations.AddConstraint(
            model_name='creditrecord',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['N', '1', '2', '3', '4', '5', '6', '7', 'C', 'G', 'B'])), name='credit_record_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='creditrecord',
            constraint=models.CheckConstraint(condition=models.Q(('month_end_state__in', ['current', 'reminder', 'collections', 'non_performing', 'write_off_candidate', 'closed', 'written_off'])), name='credit_record_state_valid'),
        ),
        migrations.AddConstraint(
            model_name='creditrecord',
            constraint=models.CheckConstraint(condition=models.Q(('previous_state__in', ['', 'current', 'reminder', 'collections', 'non_performing', 'write_off_candidate', 'closed', 'written_off'])), name='credit_record_previous_state_valid'),
        ),
        migrations.AddConstraint(
            model_name='creditrecord',
            constraint=models.CheckConstraint(condition=models.Q(('segment__in', ['individual', 'small_business'])), name='credit_record_segment_valid'),
        ),
        migrations.AddConstraint(
            model_name='creditrecord',
            constraint=models.CheckConstraint(condition=models.Q(('balance__gte', 0), ('overdue_amount__gte', 0), ('overdue_principal__gte', 0), ('principal_balance__gte', 0), ('scheduled_amount__gte', 0), ('written_off_amount__gte', 0)), name='credit_record_amounts_gte_0'),
        ),
    ]
