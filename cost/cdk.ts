import { Duration, Stack } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { Environment } from '../environments';
import { pricesFor, type PricesFile } from '../environments/prices';
import { spendMath } from './alarm-math';

export interface SpendAlarmsProps {
  /** The environment as loaded by `loadEnvironment`: models, budget thresholds, resource names. */
  environment: Pick<Environment, 'name' | 'models' | 'budget' | 'names'>;
  /** `loadPrices()`. */
  prices: PricesFile;
  /** The environment's alarm topic; it must be defined in this stack (its policy gains a statement). */
  topic: sns.ITopic;
  /** The agent's METRICS_NAMESPACE. */
  metricsNamespace?: string;
}

/**
 * Per environment: an alarm on estimated model spend per day (metric math over token metrics and
 * prices.yaml) and a monthly AWS Budgets budget, both notifying the environment's SNS topic.
 */
export class SpendAlarms extends Construct {
  readonly alarm: cloudwatch.Alarm;
  readonly budget: budgets.CfnBudget;

  constructor(scope: Construct, id: string, props: SpendAlarmsProps) {
    super(scope, id);
    const { environment: env, topic } = props;
    const modelIds = [env.models.primary, env.models.background];
    const math = spendMath({
      modelIds,
      prices: pricesFor(props.prices, modelIds),
      environment: env.name,
      metricsNamespace: props.metricsNamespace,
    });
    const period = Duration.seconds(math.periodSeconds);

    const spend = new cloudwatch.MathExpression({
      expression: math.expression,
      label: math.label,
      period,
      usingMetrics: Object.fromEntries(
        math.metrics.map((m) => [
          m.id,
          new cloudwatch.Metric({
            namespace: m.namespace,
            metricName: m.metricName,
            dimensionsMap: m.dimensions,
            statistic: m.statistic,
            period,
          }),
        ]),
      ),
    });
    this.alarm = new cloudwatch.Alarm(this, 'DailyModelSpend', {
      alarmName: env.names.spendAlarm,
      alarmDescription:
        `Estimated model spend of ${env.name} over a day above $${env.budget.dailyModelSpendUsd} ` +
        `(environments/${env.name}.yaml budget.dailyModelSpendUsd; prices from environments/prices.yaml). ` +
        'Bedrock token metrics are per account and region: environments sharing an account share them.',
      metric: spend,
      threshold: env.budget.dailyModelSpendUsd,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new actions.SnsAction(topic));

    const stack = Stack.of(this);
    const { statementAdded } = topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowBudgetsPublish',
        principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:budgets::${stack.account}:*` },
        },
      }),
    );
    if (!statementAdded) {
      throw new Error(
        'SpendAlarms: the topic policy could not be changed (imported topic?); pass the sns.Topic the stack defines, ' +
          'since AWS Budgets may only publish to a topic whose policy allows budgets.amazonaws.com',
      );
    }

    // An encrypted topic: Budgets must also be able to use its key (CloudWatch needs the same grant).
    if (topic.masterKey) {
      const { statementAdded: keyStatementAdded } = topic.masterKey.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowBudgetsUseForTopic',
          principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
        }),
      );
      if (!keyStatementAdded) {
        throw new Error(
          "SpendAlarms: the topic's KMS key policy could not be changed (imported key?); AWS Budgets needs kms:Decrypt and kms:GenerateDataKey* on it",
        );
      }
    }

    const subscribers = [{ subscriptionType: 'SNS', address: topic.topicArn }];
    const notify = (notificationType: 'ACTUAL' | 'FORECASTED', threshold: number) => ({
      notification: {
        notificationType,
        comparisonOperator: 'GREATER_THAN',
        threshold,
        thresholdType: 'PERCENTAGE',
      },
      subscribers,
    });
    this.budget = new budgets.CfnBudget(this, 'MonthlyBudget', {
      budget: {
        budgetName: `${env.names.stack}-monthly`,
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: env.budget.monthlyBudgetUsd, unit: 'USD' },
      },
      notificationsWithSubscribers: [notify('ACTUAL', 80), notify('ACTUAL', 100), notify('FORECASTED', 100)],
    });
    // Budgets checks it may publish when the budget is created: the topic policy (a child of the topic)
    // and the key policy go first.
    this.budget.node.addDependency(topic);
    if (topic.masterKey) this.budget.node.addDependency(topic.masterKey);
  }
}
