import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../environments';
import { loadPrices } from '../../environments/prices';
import { spendMath } from '../alarm-math';
import { SpendAlarms } from '../cdk';

const env = loadEnvironment('prod');
const prices = loadPrices();

function synth() {
  const stack = new Stack(new App(), 'SpendTest', { env: { account: env.account, region: env.region } });
  const topic = new sns.Topic(stack, 'Alarms');
  new SpendAlarms(stack, 'Spend', { environment: env, prices, topic });
  return Template.fromStack(stack);
}

describe('SpendAlarms', () => {
  const template = synth();

  it('alarms on the metric-math spend estimate above the daily threshold, to the topic', () => {
    const math = spendMath({
      modelIds: [env.models.primary, env.models.background],
      prices: prices.models,
      environment: env.name,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'agentcore-gitops-prod-daily-model-spend',
      Threshold: env.budget.dailyModelSpendUsd,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Alarms') }],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: math.expression, ReturnData: true }),
        Match.objectLike({
          Id: 'in0',
          ReturnData: false,
          MetricStat: {
            Metric: {
              Namespace: 'AWS/Bedrock',
              MetricName: 'InputTokenCount',
              Dimensions: [{ Name: 'ModelId', Value: env.models.primary }],
            },
            Period: 86400,
            Stat: 'Sum',
          },
        }),
      ]),
    });
    const alarm = Object.values(template.findResources('AWS::CloudWatch::Alarm'))[0];
    expect(alarm.Properties.Metrics).toHaveLength(math.metrics.length + 1);
  });

  it('creates a monthly cost budget notifying the topic', () => {
    template.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: {
        BudgetName: 'agentcore-gitops-prod-monthly',
        BudgetType: 'COST',
        TimeUnit: 'MONTHLY',
        BudgetLimit: { Amount: env.budget.monthlyBudgetUsd, Unit: 'USD' },
      },
      NotificationsWithSubscribers: [
        ['ACTUAL', 80],
        ['ACTUAL', 100],
        ['FORECASTED', 100],
      ].map(([NotificationType, Threshold]) => ({
        Notification: {
          NotificationType,
          Threshold,
          ComparisonOperator: 'GREATER_THAN',
          ThresholdType: 'PERCENTAGE',
        },
        Subscribers: [{ SubscriptionType: 'SNS', Address: { Ref: Match.stringLikeRegexp('^Alarms') } }],
      })),
    });
  });

  it('lets AWS Budgets publish to the topic, and creates the budget after that policy', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowBudgetsPublish',
            Effect: 'Allow',
            Principal: { Service: 'budgets.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: { StringEquals: { 'aws:SourceAccount': env.account } },
          }),
        ]),
      },
    });
    const [policyId] = Object.keys(template.findResources('AWS::SNS::TopicPolicy'));
    const budget = Object.values(template.findResources('AWS::Budgets::Budget'))[0];
    expect(budget.DependsOn).toContain(policyId);
  });

  it('lets AWS Budgets use the key of an encrypted topic', () => {
    const stack = new Stack(new App(), 'Encrypted', { env: { account: env.account, region: env.region } });
    const masterKey = new kms.Key(stack, 'Key');
    const topic = new sns.Topic(stack, 'Alarms', { masterKey });
    new SpendAlarms(stack, 'Spend', { environment: env, prices, topic });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowBudgetsUseForTopic',
            Principal: { Service: 'budgets.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': env.account } },
          }),
        ]),
      },
    });
    const [keyId] = Object.keys(t.findResources('AWS::KMS::Key'));
    expect(Object.values(t.findResources('AWS::Budgets::Budget'))[0].DependsOn).toContain(keyId);
  });

  it('refuses an imported topic whose policy it cannot extend', () => {
    const stack = new Stack(new App(), 'Imported', { env: { account: env.account, region: env.region } });
    const topic = sns.Topic.fromTopicArn(stack, 'T', `arn:aws:sns:${env.region}:${env.account}:elsewhere`);
    expect(() => new SpendAlarms(stack, 'Spend', { environment: env, prices, topic })).toThrow(
      /allows budgets\.amazonaws\.com/,
    );
  });
});
